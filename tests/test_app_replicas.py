"""Two app processes over one `chroma run` server, as behind a load balancer: with a real `redis-server` as
settings.rate_limit_storage they share one question limit; without it each process counts its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import ROOT, free_port, stop_process, subprocess_env
from web_fixtures import running_app

pytestmark = [pytest.mark.slow, pytest.mark.chroma_server, pytest.mark.redis_server]

LIMIT = 30
QUESTIONS = 40
QUESTION = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"
ADMIN_KEY = "replicas-admin-key"


@dataclass
class RedisServer:
    url: str
    port: int
    process: subprocess.Popen


def _start_redis(folder: Path, port: int) -> subprocess.Popen:
    """`redis-server` on 127.0.0.1:port, no persistence, answering PING within 20 s."""
    import redis

    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=(folder / "redis.log").open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + 20
    while True:
        if process.poll() is not None:
            pytest.fail(f"redis-server exited with {process.returncode}: {(folder / 'redis.log').read_text()[-2000:]}")
        try:
            if client.ping():
                return process
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("redis-server did not answer PING within 20 s")
        time.sleep(0.1)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    port = free_port()
    server = RedisServer(f"redis://127.0.0.1:{port}", port, _start_redis(tmp_path / "redis", port))
    try:
        yield server
    finally:
        stop_process(server.process)


@contextmanager
def two_apps(folder: Path, **settings: object):
    """Two `python app.py` processes with the same settings, each in its own folder."""
    with ExitStack() as stack:
        apps = []
        for name in ("a", "b"):
            (folder / name).mkdir(parents=True)
            apps.append(stack.enter_context(running_app(folder / name, **settings)))
        yield apps


def ask_alternating(apps, n: int) -> list[int]:
    """n questions from one client, sent in turn to each app; their HTTP statuses."""
    clients = [app.client() for app in apps]
    try:
        return [clients[i % len(clients)].post("/api/ask", json={"question": QUESTION}).status_code for i in range(n)]
    finally:
        for client in clients:
            client.close()


def test_two_app_processes_share_the_question_limit_through_redis(tmp_path, chroma_server, redis_server):
    ingest = subprocess.run(
        [sys.executable, "-m", "ingest", "--chroma-host", chroma_server.host,
         "--chroma-port", str(chroma_server.port), ROOT / "data" / "sample"],
        cwd=tmp_path, env=subprocess_env(tmp_path / "ingest-store", embedder="fake"),
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    shared = {"embedder": "fake", "chroma_host": chroma_server.host, "chroma_port": chroma_server.port,
              "rate_limit": f"{LIMIT}/minute", "admin_api_key": ADMIN_KEY}

    with two_apps(tmp_path / "redis", rate_limit_storage=redis_server.url, **shared) as apps:
        statuses = ask_alternating(apps, QUESTIONS)
        assert statuses.count(200) == LIMIT and statuses.count(429) == QUESTIONS - LIMIT, statuses

        # Redis goes down: every counted request is a clear 503, not a 500 and not an uncounted answer.
        stop_process(redis_server.process)
        with apps[0].client() as http:
            down = http.post("/api/ask", json={"question": QUESTION})
            assert down.status_code == 503, down.text
            assert down.json()["detail"].startswith("the rate-limit store is unavailable"), down.text
            assert down.headers["Retry-After"] == "5"
            staff = http.get("/api/documents", headers={"X-API-Key": "a-wrong-key"})
            assert staff.status_code == 503, staff.text
        assert "rate-limit storage RedisStorage" in apps[0].log_tail(20_000)

        # Back up (empty, no persistence): both apps reconnect by themselves and count from zero.
        redis_server.process = _start_redis(tmp_path / "redis-again", redis_server.port)
        assert ask_alternating(apps, 2) == [200, 200]

    # Without Redis each process allows the full limit: 20 questions each, all answered.
    with two_apps(tmp_path / "memory", **shared) as apps:
        statuses = ask_alternating(apps, QUESTIONS)
        assert statuses.count(200) == QUESTIONS > LIMIT, statuses
