"""Plain test helpers (no fixtures): settings on tmp stores, subprocess environments, free ports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.processes import free_port as free_port  # one helper for tests and benchmarks

ROOT = Path(__file__).resolve().parent.parent
CLI_TIMEOUT_S = 180


def build_settings(tmp_path: Path, **overrides):
    """settings.Settings with the store under tmp_path, ignoring any `.env`; keyword overrides win."""
    from settings import Settings

    overrides.setdefault("store_dir", tmp_path / "store")
    return Settings(_env_file=None, **overrides)


@contextmanager
def developer_settings_hidden() -> Iterator[None]:
    """Within it, the developer's FORUMQA_<SETTING> variables are unset and no `.env` is read by any Settings()
    built in this process. The tests' own knobs (FORUMQA_LOAD_SECONDS, FORUMQA_TEST_LLM_THREADS) are no settings
    and stay. conftest's autouse fixture holds it for the whole session."""
    from settings import Settings

    settings_vars = {f"FORUMQA_{name}".upper() for name in Settings.model_fields}
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.upper() in settings_vars]:
            patch.delenv(key)
        patch.setitem(Settings.model_config, "env_file", None)
        yield


def subprocess_env(store_dir: Path | None = None, **forumqa: str) -> dict[str, str]:
    """os.environ without the caller's FORUMQA_* settings, offline, with the project importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUMQA_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    for key in ("NO_PROXY", "no_proxy"):  # local servers are never reached through a proxy
        env[key] = ",".join(p for p in (env.get(key, ""), "127.0.0.1,localhost") if p)
    if store_dir is not None:
        env["FORUMQA_STORE_DIR"] = str(store_dir)
    env.update({f"FORUMQA_{k.upper()}": str(v) for k, v in forumqa.items()})
    return env


def copy_store(store: Path, to: Path) -> Path:
    """A copy of the store folder `store` at `to` (its write lock left behind), for a test to change or serve."""
    shutil.copytree(store, to, ignore=shutil.ignore_patterns("*.lock"))
    return to


def find_executable(name: str) -> str | None:
    """A console script of this venv first (tests may run without the venv on PATH), then PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a server the test started, and kill it when it does not exit within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
