"""What the web app imports is declared in requirements.txt, so a clean install runs it as tested."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support import ROOT

WEB_APP = [ROOT / "app.py", ROOT / "settings.py", ROOT / "faults.py", *sorted((ROOT / "web").glob("*.py"))]
LOCAL = {"bot", "store", "ingest", "web", "textkit", "settings", "faults", "prompts"}
SHIPPED_WITH = {"starlette": "fastapi"}  # FastAPI is built on Starlette and pins the version it needs


def declared() -> dict[str, set[str]]:
    """Each requirement's name and extras."""
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    requirements = [Requirement(line) for line in (line.split("#")[0].strip() for line in lines) if line]
    return {canonicalize_name(r.name): r.extras for r in requirements}


def imported_modules() -> set[str]:
    modules = set()
    for path in WEB_APP:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - LOCAL - set(sys.stdlib_module_names)


def test_every_package_the_web_app_imports_is_declared():
    distributions = packages_distributions()
    requirements = declared()
    missing = {
        module for module in imported_modules()
        if not any(canonicalize_name(d) in requirements for d in distributions.get(module, [module]))
        and SHIPPED_WITH.get(module) not in requirements
    }
    assert not missing, f"imported but not in requirements.txt: {sorted(missing)}"


def test_the_header_deadline_has_httptools():
    requirements = declared()  # web/connections.py: without httptools, request headers have no deadline
    assert "httptools" in requirements or "standard" in requirements.get("uvicorn", set())
