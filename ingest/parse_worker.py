"""Parsing in a child process under a time and size budget, stoppable from any thread.

A loader runs in `python -m ingest.parse_worker`, one file at a time: the parent writes a JSON line (file name,
size, limits) and the file's bytes to the child's stdin, and reads one JSON line back: the loaded document or a
named ingest error. A parse that outlives its budget is refused and its child killed, whichever thread asked (a
signal-based limit works only on the main thread); the next file gets a fresh child. Idle children are kept for
the next file, so a child's start-up (about 0.2 s) is paid once, not per file. The answer is JSON, never a
pickle: the child handles untrusted files."""

from __future__ import annotations

import atexit
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ingest import errors
from ingest.errors import CorruptFile, FileTooLarge, IngestError, ParseTimeout
from ingest.loaded import LoadedDocument, Section

START_TIMEOUT_S = 60.0
KEEP_IDLE = 2
_ORPHAN_GRACE_S = 30  # the child's own alarm, should its parent be gone before it could kill it


class ParseWorkerError(RuntimeError):
    """The loader failed with an unexpected exception (a bug, not a bad file): its traceback is the message."""


def _to_json(loaded: LoadedDocument) -> dict:
    return {"title": loaded.title, "sections": [[s.text, s.heading, s.page] for s in loaded.sections]}


def _from_json(data: dict) -> LoadedDocument:
    return LoadedDocument(data["title"], [Section(text, heading, page) for text, heading, page in data["sections"]])


def load_within_limits(name: str, data: bytes, max_text_chars: int) -> LoadedDocument:
    """The loader of the file's extension, then the size checks on what it extracted (in the child)."""
    from ingest.loaders import LOADERS

    loaded = LOADERS[Path(name).suffix.lower()](data, Path(name))
    text_chars = sum(len(s.text) for s in loaded.sections)
    if text_chars > max_text_chars:
        raise FileTooLarge(f"extracted text has {text_chars} characters (limit {max_text_chars})")
    return loaded


def _serve() -> None:
    """The child's loop: one request in, one JSON line out, until stdin closes."""
    import traceback

    import ingest.loaders  # noqa: F401 - imported before "ready", not during a file's budget

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(b"ready\n")
    stdout.flush()
    while header := stdin.readline():
        request = json.loads(header)
        data = stdin.read(request["size"])
        signal.alarm(int(request["timeout_s"]) + _ORPHAN_GRACE_S)
        try:
            reply = {"loaded": _to_json(load_within_limits(request["name"], data, request["max_text_chars"]))}
        except IngestError as exc:
            reply = {"error": type(exc).__name__, "message": str(exc)}
        except (OSError, RecursionError, MemoryError) as exc:  # the file's fault, as in the pipeline
            reply = {"error": "IngestError", "message": f"{type(exc).__name__}: {exc}"}
        except Exception:
            reply = {"bug": traceback.format_exc(limit=8)}
        signal.alarm(0)
        stdout.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
        stdout.flush()


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ingest.parse_worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, bufsize=0, cwd=Path(__file__).resolve().parent.parent,
        )
        if self._read_line(time.monotonic() + START_TIMEOUT_S) != b"ready\n":
            self.kill()
            raise RuntimeError("the parse worker did not start")

    def _read_line(self, deadline: float) -> bytes | None:
        """One line from the child, or None when the deadline passes or the child is gone."""
        buffer = bytearray()
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while not buffer.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                block = os.read(fd, 1 << 20)
                if not block:
                    return None
                buffer += block
        return bytes(buffer)

    def parse(self, name: str, data: bytes, timeout_s: float, max_text_chars: int) -> dict:
        header = {"name": name, "size": len(data), "timeout_s": timeout_s, "max_text_chars": max_text_chars}
        self.process.stdin.write(json.dumps(header).encode() + b"\n")
        self.process.stdin.write(data)
        line = self._read_line(time.monotonic() + timeout_s)
        if line is None:
            code = self.process.poll()
            self.kill()
            if code is None:
                raise ParseTimeout(f"parsing took longer than {timeout_s:g} s")
            raise CorruptFile(f"the parser stopped on this file (exit code {code})")
        return json.loads(line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


_idle: list[_Child] = []
_idle_lock = threading.Lock()


def _take() -> _Child:
    with _idle_lock:
        while _idle:
            child = _idle.pop()
            if child.alive():
                return child
    return _Child()


def _give_back(child: _Child) -> None:
    with _idle_lock:
        if child.alive() and len(_idle) < KEEP_IDLE:
            _idle.append(child)
            return
    if child.alive():
        child.kill()


@atexit.register
def stop_idle_workers() -> None:
    with _idle_lock:
        children = list(_idle)
        _idle.clear()
    for child in children:
        child.kill()


def parse_in_worker(name: str, data: bytes, timeout_s: float, max_text_chars: int) -> LoadedDocument:
    """Load a file in a child process; raises ParseTimeout past `timeout_s`, or the loader's IngestError."""
    child = _take()
    try:
        try:
            reply = child.parse(name, data, timeout_s, max_text_chars)
        except BrokenPipeError:  # an idle child that died meanwhile: one more try with a fresh one
            child.kill()
            child = _Child()
            reply = child.parse(name, data, timeout_s, max_text_chars)
    finally:
        _give_back(child)
    if "bug" in reply:
        raise ParseWorkerError(reply["bug"])
    if "error" in reply:
        error = getattr(errors, reply["error"], IngestError)
        raise (error if isinstance(error, type) and issubclass(error, IngestError) else IngestError)(reply["message"])
    return _from_json(reply["loaded"])


if __name__ == "__main__":
    _serve()
