"""A tiny OpenAI-compatible chat server for tests: one generation at a time (like a one-slot llama.cpp server),
a token every `token_delay_s`, and it stops generating as soon as its client hangs up. It counts what it did, so
a test can tell an abandoned stream that was cancelled from one left generating for nobody.

    with slow_llm(token_delay_s=0.05) as llm:     # llm.api_url goes to settings.llm_base_url
        ...
        llm.stop(); llm.start()                     # down, then back on the same port
"""

from __future__ import annotations

import http.server
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from support import free_port


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's parameter name
        pass

    def do_GET(self):  # noqa: N802 - the stdlib's name
        self._json({"object": "list", "data": [{"id": "slow", "object": "model"}]})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.server.refusal:  # e.g. 401: a wrong key, as a real server answers it
            self._json({"error": {"message": "refused", "type": "invalid_request_error"}}, self.server.refusal)
            return
        if not body.get("stream"):
            self._json({"id": "c", "object": "chat.completion", "created": 0, "model": "slow", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": self.server.reply(0)},
                 "finish_reason": "stop"}]})
            return
        with self.server.slot:  # one generation at a time: a request waits for the one before it
            self.server.generating += 1
            try:
                self._stream()
            finally:
                self.server.generating -= 1

    def _stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for n in range(self.server.tokens):
            if n and self._client_gone():
                self.server.cancelled += 1
                return
            time.sleep(self.server.token_delay_s if n else 0)
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "slow",
                     "choices": [{"index": 0, "delta": {"content": self.server.reply(n)}, "finish_reason": None}]}
            try:
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            except OSError:
                self.server.cancelled += 1
                return
        self.wfile.write(b"data: [DONE]\n\n")
        self.server.completed += 1

    def _client_gone(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _json(self, data: dict, status: int = 200) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Connection", "close")  # no idle connection outlives stop()
        self.end_headers()
        self.close_connection = True
        self.wfile.write(raw)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, token_delay_s: float, tokens: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.token_delay_s, self.tokens = token_delay_s, tokens
        self.slot = threading.Lock()
        self.generating = self.cancelled = self.completed = 0
        self.refusal: int | None = None  # an HTTP status every completion request gets instead of an answer

    @staticmethod
    def reply(n: int) -> str:
        return "According to the report [1]," if n == 0 else f" w{n}"


class SlowLLM:
    def __init__(self, token_delay_s: float, tokens: int) -> None:
        self.port, self.token_delay_s, self.tokens = free_port(), token_delay_s, tokens
        self.server: _Server | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self.server = _Server(self.port, self.token_delay_s, self.tokens)
        threading.Thread(target=self.server.serve_forever, name="slow-llm", daemon=True).start()

    def refuse(self, status: int) -> None:
        """From now on every completion request gets this status and an error body."""
        self.server.refusal = status

    def stop(self) -> None:
        """Stops listening (new requests are refused); streams in progress end at their next token."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@contextmanager
def slow_llm(token_delay_s: float = 0.05, tokens: int = 400) -> Iterator[SlowLLM]:
    llm = SlowLLM(token_delay_s, tokens)
    llm.start()
    try:
        yield llm
    finally:
        llm.stop()
