"""The stages import one way, ingest -> store -> bot -> web, with textkit/ a leaf they all may use: each package,
every module of it imported in a fresh interpreter, loads nothing from the stages after it, and none of its
modules names one in an import, not even inside a function."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("textkit", "ingest", "store", "bot", "web")
MAY_NOT_IMPORT = {
    "textkit": {"ingest", "store", "bot", "web"},
    "store": {"ingest", "bot", "web"},
    "ingest": {"bot", "web"},
    "bot": {"ingest", "web"},
}
# After the imports, the stages that read settings build them as their CLIs do, with the defaults and with another
# answerer (FORUMQA_ANSWERER=openai in a store or ingest process): validating a setting must not load a later stage
# either (the answerers' registry lives in bot/).
LOAD_ALL = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, sys.argv[1] + "."):
    importlib.import_module(module.name)
if sys.argv[1] != "textkit":
    from settings import load_settings
    load_settings(store_dir="unused")
    load_settings(store_dir="unused", answerer="openai")
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, set[str]]:
    """For each package: the top-level packages loaded by importing all its modules (in parallel processes)."""
    runs = {
        package: subprocess.Popen([sys.executable, "-c", LOAD_ALL, package], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        for package in MAY_NOT_IMPORT
    }
    out = {}
    for package, run in runs.items():
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr
        out[package] = set(json.loads(stdout))
    return out


@pytest.mark.parametrize("package", MAY_NOT_IMPORT)
def test_importing_a_package_loads_no_later_stage(loaded, package):
    assert package in loaded[package]
    assert not loaded[package] & MAY_NOT_IMPORT[package]


def imported_stages(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names & set(STAGES)


@pytest.mark.parametrize("package", MAY_NOT_IMPORT)
def test_no_module_imports_a_later_stage_even_lazily(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_stages(path) & MAY_NOT_IMPORT[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert not {path: names for path, names in wrong.items() if names}
