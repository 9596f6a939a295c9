"""Child processes measured from outside: wall time, peak RSS, and the web app's readiness."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from settings import OFFLINE_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[1]


_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never send 127.0.0.1 through a proxy


def child_env(**forumqa: str) -> dict[str, str]:
    """This environment (so the same FORUMQA_* settings), offline, with the project importable and the
    settings in `forumqa` set (embedder="e5" -> FORUMQA_EMBEDDER=e5)."""
    env = dict(os.environ)
    env.update(OFFLINE_ENVIRONMENT)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update({f"FORUMQA_{k.upper()}": v for k, v in forumqa.items()})
    return env


@dataclass
class Finished:
    returncode: int
    wall_s: float
    peak_rss_mb: float
    output: str


def run_measured(args: list[str], timeout_s: float = 1800) -> Finished:
    """Run `python ARGS...` from the project root; peak RSS is the child's own ru_maxrss from wait4."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=child_env(), stdout=out, stderr=out)
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Finished(proc.returncode, wall, usage.ru_maxrss / 1024, text)


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (the high-water mark of resident memory) of a running process, Linux only."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def http_get(url: str, timeout: float = 2.0) -> int:
    try:
        with _LOCAL.open(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return 0


def http_post_json(url: str, payload: dict, timeout: float = 30.0) -> int:
    return http_post_json_reply(url, payload, timeout)[0]


def http_post_json_reply(url: str, payload: dict, timeout: float = 30.0) -> tuple[int, object]:
    """(status, the parsed JSON reply, or None when there is none); status 0 when nothing answered."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with _LOCAL.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError):
        return 0, None


class AppProcess:
    """`python app.py --store STORE --port PORT`, started and timed until GET /healthz answers 200.
    With `bare=True`, the baseline instead: an echo Gradio chat and /healthz (benchmarks/bare_app.py).
    `settings` are more FORUMQA_* settings for the app (rate_limit="1000/minute" -> FORUMQA_RATE_LIMIT)."""

    def __init__(
        self, store: Path, embedder: str, port: int | None = None, bare: bool = False, **settings: str
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()
        args = ["-m", "benchmarks.bare_app", str(self.port)] if bare else [
            "app.py", "--store", str(store), "--port", str(self.port)]
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT, env=child_env(embedder=embedder, answerer="extractive", **settings), stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        self.started = time.perf_counter()

    def wait_ready(self, timeout_s: float = 60.0) -> float | None:
        """Seconds from spawn to the first 200 from /healthz; None when it exited or never answered."""
        while time.perf_counter() - self.started < timeout_s:
            if self.proc.poll() is not None:
                return None
            if http_get(f"{self.base}/healthz", timeout=1.0) == 200:
                return time.perf_counter() - self.started
            time.sleep(0.05)
        return None

    def wait_warm(self, timeout_s: float = 300.0) -> bool:
        """Whether /healthz said warm (every collection's lexical index built) within `timeout_s` of now: a
        benchmark that scores answers must not score those given before, without the lexical bonus."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline and self.proc.poll() is None:
            try:
                with _LOCAL.open(f"{self.base}/healthz", timeout=2.0) as response:
                    if json.loads(response.read()).get("warm"):
                        return True
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        return False

    def output_tail(self, chars: int = 600) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-chars:]

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()
