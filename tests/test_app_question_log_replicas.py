"""Two app processes over one `chroma run` server write their questions to one PostgreSQL question log
(settings.question_log_url), `python -m bot report` reads both, and they answer on while the database is down.
The PostgreSQL server is started here from Debian's binaries (package postgresql, installed by .ci/run), in a
temp folder, on 127.0.0.1 and a free port; as root it runs as the `postgres` user, since PostgreSQL refuses to
run as root."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import ROOT, free_port, stop_process, subprocess_env
from web_fixtures import running_app

from store.question_log import LoggedQuestion
from store.question_log_pg import PostgresQuestionLog

pytestmark = [pytest.mark.slow, pytest.mark.chroma_server, pytest.mark.postgres_server]

QUESTIONS = ["¿Cuánto alcanzó el comercio entre China y América Latina en 2024?", "2024年中国与拉美的贸易额是多少？",
             "Where was the China–LAC think tank forum held?", "¿Dónde se celebró el foro?",
             "How many scholarships does the youth programme offer?", "中拉智库经贸合作论坛在哪里举行？",
             "¿Qué puerto es el eje del plan de logística?"]


def postgres_binary(name: str) -> str | None:
    """On PATH, else the newest of Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"postgres exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            psycopg.connect(url, connect_timeout=1).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                pytest.fail(f"postgres did not accept connections within 30 s: {log.read_text()[-2000:]}")
            time.sleep(0.2)


@dataclass
class PostgresServer:
    url: str
    process: subprocess.Popen


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    initdb, postgres = postgres_binary("initdb"), postgres_binary("postgres")
    if initdb is None or postgres is None:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql)")
    run_as = {}
    folder = Path(tempfile.mkdtemp(prefix="forumqa-pg-"))  # not pytest's tmp_path: it is root's alone
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres") if "postgres" in {p.pw_name for p in pwd.getpwall()} else pwd.getpwnam(
            "nobody")
        os.chown(folder, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    port, log = free_port(), folder / "postgres.log"
    try:
        subprocess.run([initdb, "-D", str(folder / "data"), "-U", "forumqa", "-A", "trust", "-E", "UTF8",
                        "--no-sync"], cwd=folder, check=True, capture_output=True, timeout=120, **run_as)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [postgres, "-D", str(folder / "data"), "-h", "127.0.0.1", "-p", str(port), "-k", str(folder),
                 "-c", "fsync=off"], cwd=folder, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                **run_as)
        url = f"postgresql://forumqa@127.0.0.1:{port}/postgres"
        try:
            _wait_ready(url, process, log)
            yield PostgresServer(url, process)
        finally:
            stop_process(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_adapter_votes_and_prunes_in_postgresql(postgres):
    question_log = PostgresQuestionLog(postgres.url)
    now = datetime.now(UTC)
    question_log.add([LoggedQuestion(f"pg{n}", now - timedelta(days=n), "es", "forum", "api", f"pregunta {n}",
                                     n % 2 == 0, [{"doc_id": "d1", "title": "Informe"}], "respuesta")
                      for n in range(5)])
    question_log.vote("pg0", liked=False)
    question_log.prune(keep_days=3, max_rows=2, now=now + timedelta(minutes=1))
    entries = question_log.entries()
    assert [(e.id, e.vote, e.cited[0]["title"]) for e in entries] == [("pg1", None, "Informe"), ("pg0", -1, "Informe")]
    assert "forumqa@" not in repr(question_log)  # never the URL (it may hold a password)
    question_log.close()


def test_two_app_processes_write_one_postgresql_log_that_the_report_reads(tmp_path, chroma_server, postgres):
    ingest = subprocess.run(
        [sys.executable, "-m", "ingest", "--chroma-host", chroma_server.host, "--chroma-port", str(chroma_server.port),
         ROOT / "data" / "sample"], cwd=tmp_path, env=subprocess_env(tmp_path / "ingest-store", embedder="fake"),
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    shared = {"embedder": "fake", "chroma_host": chroma_server.host, "chroma_port": chroma_server.port,
              "question_log": "true", "question_log_url": postgres.url}
    with ExitStack() as stack:
        apps = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            apps.append(stack.enter_context(running_app(tmp_path / name, **shared)))
        for n, question in enumerate(QUESTIONS):  # in turn: 4 to a, 3 to b
            with apps[n % 2].client() as http:
                assert http.post("/api/ask", json={"question": question}).status_code == 200
        report = None
        for _ in range(60):  # each app's writer thread writes within moments
            result = subprocess.run(
                [sys.executable, "-m", "bot", "report", "--log-url", postgres.url, "--since", "1d", "--format",
                 "json", "--embedder", "fake"], cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
                timeout=120, stdin=subprocess.DEVNULL,
            )
            assert result.returncode == 0, result.stderr
            report = json.loads(result.stdout)
            if report["questions"] >= len(QUESTIONS):
                break
            time.sleep(0.5)
        assert report["questions"] == len(QUESTIONS), report
        assert report["languages"] == {"es": 3, "zh": 2, "en": 2}
        for app in apps:
            assert "question log:" not in app.log_tail(20_000)  # no write failed, in either process

        # The database goes down: questions are still answered, and each process says what it could not write.
        stop_process(postgres.process)
        for app in apps:
            with app.client() as http:
                started = time.monotonic()
                assert http.post("/api/ask", json={"question": QUESTIONS[0]}).status_code == 200
                assert time.monotonic() - started < 5
        deadline = time.monotonic() + 30
        while not all("question log: 1 entries and 0 votes not written" in app.log_tail(20_000) for app in apps):
            assert time.monotonic() < deadline, apps[0].log_tail(3000)
            time.sleep(0.2)
    assert not any((tmp_path / name / "store-questions.sqlite3").exists() for name in ("a", "b"))
