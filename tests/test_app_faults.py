"""Backend faults over real HTTP: an LLM server that stops and a `chroma run` server that is killed give 503s
with a one-line reason on every route (the chat shows a message), `bot ask --json` writes an error line per
question and goes on, and the app recovers without a restart. Aborted LLM streams cancel the model's request."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from contextlib import contextmanager

import httpx
import pytest
from slow_llm import slow_llm
from support import ROOT, find_executable, subprocess_env
from web_fixtures import parse_sse, running_app

ADMIN_KEY = "faults-admin-key-0123456789abcdef"
QUESTION = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"
KEY = {"X-API-Key": ADMIN_KEY}

pytestmark = pytest.mark.slow


def first_token_s(http: httpx.Client, question: str = QUESTION, limit_s: float = 15.0) -> float:
    """Seconds from the request to the first `token` event; the stream is then closed. Fails past `limit_s`,
    even while a read is blocked."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(_first_token_s, http, question).result(timeout=limit_s)
    except FuturesTimeout:
        pytest.fail(f"no first token within {limit_s:g} s")
    finally:
        pool.shutdown(wait=False)  # a blocked read ends when the app stops


def _first_token_s(http: httpx.Client, question: str) -> float:
    started = time.monotonic()
    with http.stream("POST", "/api/chat", json={"question": question}) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("event: token"):
                return time.monotonic() - started
            assert not line.startswith("event: error"), line
    raise AssertionError("the stream ended without a token")


def gradio_chat(http: httpx.Client, message: str) -> str:
    """The chat's last message for `message`, through Gradio's own API (its inputs: the message, the answer
    language, the collection, None for the default one)."""
    started = http.post("/gradio_api/call/chat", json={"data": [message, "auto", None]})
    assert started.status_code == 200, started.text
    body = http.get(f"/gradio_api/call/chat/{started.json()['event_id']}").text
    final = [line for line in body.splitlines() if line.startswith("data:")][-1]
    return json.dumps(json.loads(final[5:]), ensure_ascii=False)


def assert_unavailable(response: httpx.Response, backend: str) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    detail = response.json()["detail"]
    assert backend in detail and "\n" not in detail and "127.0.0.1" not in detail, detail


def wait_idle(llm, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while llm.server.generating and time.monotonic() < deadline:
        time.sleep(0.05)


@contextmanager
def app_on_slow_llm(folder, token_delay_s: float = 0.05, tokens: int = 200) -> Iterator[tuple[object, httpx.Client]]:
    """(the slow LLM server, an HTTP client of an app that answers through it, with the fake embedder)."""
    with slow_llm(token_delay_s=token_delay_s, tokens=tokens) as llm, running_app(
        folder, embedder="fake", answerer="openai", llm_base_url=llm.api_url, rate_limit="100000/minute",
    ) as app, app.client() as http:
        yield llm, http


def idle_first_token_s(llm, http: httpx.Client) -> float:
    """The first token's time once the app is warm and the server idle (nothing generates for a client that
    left): the baseline the tests compare with."""
    first_token_s(http)
    wait_idle(llm, 30)
    return first_token_s(http)


def test_closing_50_llm_streams_early_does_not_delay_the_next_first_token(tmp_path):
    with app_on_slow_llm(tmp_path) as (llm, http):
        baseline = idle_first_token_s(llm, http)
        times = []
        for _ in range(50):
            times.append(first_token_s(http))
            assert times[-1] < baseline + 1.0, f"first token after {times[-1]:.2f} s (baseline {baseline:.2f} s)"
        after = first_token_s(http)
        print(f"first token: {baseline:.3f} s before, {after:.3f} s after 50 closed streams "
              f"(slowest of the 50: {max(times):.3f} s)")
        assert after < baseline + 1.0, f"first token {after:.2f} s after 50 closed streams (baseline {baseline:.2f} s)"
        wait_idle(llm, 2)
        assert llm.server.generating == 0, "the server still generates for a client that left"
        assert llm.server.cancelled >= 50 and llm.server.completed == 0


def gradio_first_piece_then_leave(http: httpx.Client, question: str = QUESTION, limit_s: float = 15.0) -> None:
    """Asks through Gradio's own API, reads the stream until the answer's first piece, then hangs up (as a visitor
    closing the tab does)."""
    started = http.post("/gradio_api/call/chat", json={"data": [question, "auto", None]})
    assert started.status_code == 200, started.text
    deadline = time.monotonic() + limit_s
    with http.stream("GET", f"/gradio_api/call/chat/{started.json()['event_id']}") as response:
        event = ""
        for line in response.iter_lines():
            assert time.monotonic() < deadline, f"no first piece within {limit_s:g} s"
            if line.startswith("event:"):
                event = line[6:].strip()
            elif event == "generating" and "According to the report" in line:
                return
            assert event != "error", line
    raise AssertionError("the Gradio stream ended without a piece of the answer")


def gradio_first_piece_then_stop(http: httpx.Client, question: str = QUESTION, limit_s: float = 15.0) -> None:
    """Asks as the page does (queue/join, then the session's stream), and at the answer's first piece presses
    stop (Gradio's /cancel), then reads the stream to its end."""
    chat = next(d["id"] for d in http.get("/config").json()["dependencies"] if d.get("api_name") == "chat")
    session = uuid.uuid4().hex[:11]
    joined = http.post("/gradio_api/queue/join",
                       json={"data": [question, [], "auto", None, None], "fn_index": chat,
                             "session_hash": session})
    assert joined.status_code == 200, joined.text
    deadline = time.monotonic() + limit_s
    with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as response:
        for line in response.iter_lines():
            assert time.monotonic() < deadline, f"no first piece within {limit_s:g} s"
            if '"process_generating"' in line and "According to the report" in line:
                stop = {"session_hash": session, "fn_index": chat, "event_id": joined.json()["event_id"]}
                assert http.post("/gradio_api/cancel", json=stop).status_code == 200
                deadline = float("inf")
            elif '"process_completed"' in line:
                assert deadline == float("inf"), f"the answer ended before its first piece: {line}"
                return
    raise AssertionError("the Gradio stream ended without completing")


def wait_cancelled(llm, count: int, limit_s: float) -> float:
    """Seconds until the LLM server has seen `count` streams cancelled by their client; fails past `limit_s`."""
    started = time.monotonic()
    while llm.server.cancelled < count or llm.server.generating:
        elapsed = time.monotonic() - started
        if elapsed > limit_s:
            pytest.fail(f"the model still generates {elapsed:.1f} s after the visitor left "
                        f"(cancelled {llm.server.cancelled}, completed {llm.server.completed})")
        time.sleep(0.02)
    return time.monotonic() - started


def test_leaving_the_gradio_chat_mid_answer_cancels_the_model_request(tmp_path):
    with app_on_slow_llm(tmp_path) as (llm, http):
        baseline = idle_first_token_s(llm, http)
        wait_cancelled(llm, 2, 15)
        for n, leave in enumerate([gradio_first_piece_then_leave, gradio_first_piece_then_stop] * 3, start=3):
            leave(http)
            cancelled_s = wait_cancelled(llm, n, 2.0)  # 200 tokens: 10 s if it were left to generate
            after = first_token_s(http)
            print(f"{leave.__name__}: model request cancelled after {cancelled_s:.2f} s; next first token "
                  f"{after:.3f} s (baseline {baseline:.3f} s)")
            assert after < baseline + 1.0, f"first token {after:.2f} s after leaving (baseline {baseline:.2f} s)"
            wait_cancelled(llm, n + 1, 15)
        assert llm.server.completed == 0


def test_an_llm_server_down_is_a_503_everywhere_and_the_app_recovers(tmp_path):
    with app_on_slow_llm(tmp_path, token_delay_s=0.01, tokens=5) as (llm, http):
        assert http.post("/api/ask", json={"question": QUESTION}).status_code == 200
        llm.stop()
        assert_unavailable(http.post("/api/ask", json={"question": QUESTION}), "language model")
        assert_unavailable(http.post("/api/chat", json={"question": QUESTION}), "language model")
        assert "language model is unavailable" in gradio_chat(http, QUESTION)
        llm.start()
        answer = http.post("/api/ask", json={"question": QUESTION})
        assert answer.status_code == 200 and answer.json()["answered"], answer.text
        events = parse_sse(http.post("/api/chat", json={"question": QUESTION}).text)
        assert events[-1][0] == "final", events


def start_chroma(path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [find_executable("chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=subprocess_env(),
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with opener.open(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("chroma run did not start again")


@pytest.mark.chroma_server
def test_a_chroma_server_down_is_a_503_everywhere_and_the_app_recovers(tmp_path, chroma_server):
    restarted = None
    with running_app(tmp_path, embedder="fake", chroma_host=chroma_server.host, chroma_port=chroma_server.port,
                     admin_api_key=ADMIN_KEY, rate_limit="100000/minute") as app, app.client() as http:
        assert http.post("/api/ask", json={"question": QUESTION}).status_code == 200
        doc_id = http.get("/api/documents", headers=KEY).json()["documents"][0]["doc_id"]
        chroma_server.process.kill()
        chroma_server.process.wait()
        try:
            assert_unavailable(http.post("/api/ask", json={"question": QUESTION}), "document store")
            assert_unavailable(http.post("/api/chat", json={"question": QUESTION}), "document store")
            assert_unavailable(http.get("/api/documents", headers=KEY), "document store")
            upload = http.post("/api/documents", files=[("files", ("nota.txt", b"Una nota."))], headers=KEY)
            assert_unavailable(upload, "document store")
            assert_unavailable(http.patch(f"/api/documents/{doc_id}", json={"title": "Otro"}, headers=KEY),
                               "document store")
            assert_unavailable(http.delete(f"/api/documents/{doc_id}", headers=KEY), "document store")
            for page in (f"/api/documents/{doc_id}/file", f"/view/{doc_id}"):  # reads: a 503, never a bare 500
                response = http.get(page)
                assert response.status_code == 503 and "document store" in response.text, (page, response.text)
            assert "document store is unavailable" in gradio_chat(http, QUESTION)
            restarted = start_chroma(chroma_server.path, chroma_server.port)
            answer = http.post("/api/ask", json={"question": QUESTION})
            assert answer.status_code == 200 and answer.json()["also_retrieved"] + answer.json()["sources"], answer.text
            assert http.get("/api/documents", headers=KEY).json()["total"] == 5
        finally:
            if restarted is not None:
                restarted.terminate()
                restarted.wait(timeout=15)


@pytest.mark.parametrize("fault", ["down", "refusing"])
def test_bot_ask_json_writes_one_line_per_question_when_the_llm_fails(tmp_path, env, run_ingest, fault):
    assert run_ingest(ROOT / "data" / "sample", env_override={**env, "FORUMQA_EMBEDDER": "fake"}).returncode == 0
    with slow_llm(token_delay_s=0.01, tokens=5) as llm:
        if fault == "down":
            llm.stop()
        else:
            llm.refuse(401)
        questions = f"{QUESTION}\nWhere was the forum held?\n2024年中国与拉美的贸易额是多少？\n"
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--json", "--embedder", "fake", "--answerer", "openai"],
            input=questions, capture_output=True, text=True, cwd=tmp_path, timeout=180,
            env={**env, "FORUMQA_LLM_BASE_URL": llm.api_url},
        )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["question"] for line in lines] == questions.splitlines() and len(lines) == 3, proc.stdout + proc.stderr
    assert all(line["error"] and "\n" not in line["error"] and "answer" not in line for line in lines), lines
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr


def read_line(process: subprocess.Popen, limit_s: float) -> str:
    """The process's next stdout line; fails past `limit_s`."""
    if not select.select([process.stdout], [], [], limit_s)[0]:
        pytest.fail(f"no output within {limit_s:g} s")
    return process.stdout.readline()


@pytest.mark.chroma_server
def test_bot_ask_json_writes_one_line_per_question_when_the_chroma_server_is_down(
    tmp_path, env, run_ingest, chroma_server
):
    server = {**env, "FORUMQA_EMBEDDER": "fake", "FORUMQA_CHROMA_HOST": chroma_server.host,
              "FORUMQA_CHROMA_PORT": str(chroma_server.port)}
    assert run_ingest(ROOT / "data" / "sample", env_override=server).returncode == 0
    bot = subprocess.Popen([sys.executable, "-m", "bot", "ask", "--json"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                           cwd=tmp_path, env=server)
    try:
        bot.stdin.write(QUESTION + "\n")
        bot.stdin.flush()
        assert "error" not in json.loads(read_line(bot, 180))  # the store is open and answers
        chroma_server.process.kill()
        chroma_server.process.wait()
        questions = ["2024年中国与拉美的贸易额是多少？", QUESTION, "Where was the forum held?"]
        stdout, stderr = bot.communicate("".join(f"{q}\n" for q in questions), timeout=180)
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [line["question"] for line in lines] == questions, stdout + stderr
    for line in lines:
        assert "Chroma server" in line["error"] and "\n" not in line["error"], line
    assert bot.returncode == 1 and "Traceback" not in stderr, stderr
