"""Parsing in a child process under a time and size budget, stoppable from any thread.

A loader runs in `python -m ingest.parse_worker`, one file at a time: the parent writes a JSON line (file name,
size, limits) and the file's bytes to the child's stdin, and reads one JSON line back: the loaded document or a
named ingest error. A parse that outlives its budget is refused and its child killed, whichever thread asked (a
signal-based limit works only on the main thread); the next file gets a fresh child. Idle children are kept for
the next file, so a child's start-up (about 0.2 s) is paid once, not per file. The answer is JSON, never a
pickle: the child handles untrusted files.

Replies go out on a duplicate of the child's stdout, and fd 1 is pointed at stderr, so a library that prints
cannot corrupt them. A child is reused only after a clean reply; on anything else it is killed. Its address
space is capped (RLIMIT_AS, where the platform has it), so a file that needs more memory is refused."""

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
from ingest.errors import CorruptFile, FileTooLarge, IngestError, ParseOutOfMemory, ParseTimeout
from ingest.loaded import LoadedDocument, Section
from settings import Settings

START_TIMEOUT_S = 60.0  # a start-up (imports) takes about 0.2 s; this only catches a child that never starts
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


def _limit_memory(memory_mb: float) -> None:
    """Cap the child's address space (soft limit: the next request may set another); no-op where unsupported."""
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = int(memory_mb * 1024 * 1024)
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    except (ImportError, AttributeError, ValueError, OSError):
        pass


def _out_of_memory(memory_mb: float) -> dict:
    return {"error": ParseOutOfMemory.__name__,
            "message": f"parsing needed more than {memory_mb:g} MB of memory (parse_memory_mb)"}


def _reply_to(request: dict, data: bytes) -> bytes:
    import traceback

    try:
        loaded = load_within_limits(request["name"], data, request["max_text_chars"])
        return json.dumps({"loaded": _to_json(loaded)}, ensure_ascii=False).encode()
    except MemoryError:
        reply = _out_of_memory(request["memory_mb"])
    except IngestError as exc:
        reply = {"error": type(exc).__name__, "message": str(exc)}
    except (OSError, RecursionError) as exc:  # the file's fault, as in the pipeline
        reply = {"error": "IngestError", "message": f"{type(exc).__name__}: {exc}"}
    except Exception:
        reply = {"bug": traceback.format_exc(limit=8)}
    return json.dumps(reply, ensure_ascii=False).encode()


def _serve() -> None:
    """The child's loop: one request in, one JSON line out, until stdin closes."""
    import ingest.loaders  # noqa: F401 - imported before "ready", not during a file's budget

    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a loader's print() (or a C library's write to fd 1) goes to stderr, not into a reply
    stdin = sys.stdin.buffer
    replies.write(b"ready\n")
    while header := stdin.readline():
        request = json.loads(header)
        signal.alarm(int(request["timeout_s"]) + _ORPHAN_GRACE_S)
        _limit_memory(request["memory_mb"])
        try:
            reply = _reply_to(request, stdin.read(request["size"]))
        except MemoryError:  # reading the file, or writing its reply
            reply = json.dumps(_out_of_memory(request["memory_mb"])).encode()
        signal.alarm(0)
        replies.write(reply + b"\n")


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

    def parse(self, name: str, data: bytes, settings: Settings) -> dict:
        """The child's reply; raises ParseTimeout or CorruptFile (the child is then dead), or whatever the
        exchange raised (the caller kills the child: it may be out of step)."""
        timeout_s = settings.file_timeout_s
        header = {"name": name, "size": len(data), "timeout_s": timeout_s,
                  "max_text_chars": settings.max_text_chars, "memory_mb": settings.parse_memory_mb}
        self.process.stdin.write(json.dumps(header).encode() + b"\n")
        self.process.stdin.write(data)
        line = self._read_line(time.monotonic() + timeout_s)
        if line is None:
            code = self.process.poll()
            self.kill()
            if code is None:
                raise ParseTimeout(f"parsing took longer than {timeout_s:g} s")
            raise CorruptFile(f"the parser stopped on this file (exit code {code})")
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict) or not reply.keys() & {"loaded", "error", "bug"}:
            raise ParseWorkerError(f"the parse worker replied {line[:80]!r}")
        return reply

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:  # unflushed input for a child that is gone
                pass


_idle: list[_Child] = []
_idle_lock = threading.Lock()


def _take() -> _Child:
    with _idle_lock:
        while _idle:
            child = _idle.pop()
            if child.alive():
                return child
    return _Child()


def _give_back(child: _Child, keep_idle: int) -> None:
    with _idle_lock:
        if child.alive() and len(_idle) < keep_idle:
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


def parse_in_worker(name: str, data: bytes, settings: Settings) -> LoadedDocument:
    """Load a file in a child process within the settings' budget (file_timeout_s, max_text_chars,
    parse_memory_mb); raises ParseTimeout, ParseOutOfMemory or the loader's IngestError."""
    child = _take()
    try:
        try:
            reply = child.parse(name, data, settings)
        except BrokenPipeError:  # an idle child that died meanwhile: one more try with a fresh one
            child.kill()
            child = _Child()
            reply = child.parse(name, data, settings)
    except BaseException:  # a timeout, a garbled reply, an interrupt mid-write: the child may be out of step
        if child.alive():
            child.kill()
        raise
    if reply.get("error") == ParseOutOfMemory.__name__:
        child.kill()  # a MemoryError may have left the child's state half-built
    else:
        _give_back(child, settings.parse_workers_idle)
    if "bug" in reply:
        raise ParseWorkerError(reply["bug"])
    if "error" in reply:
        error = getattr(errors, reply["error"], IngestError)
        raise (error if isinstance(error, type) and issubclass(error, IngestError) else IngestError)(reply["message"])
    return _from_json(reply["loaded"])


if __name__ == "__main__":
    _serve()
