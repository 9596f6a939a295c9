"""Collections over HTTP, in process (FastAPI TestClient, fake embedder and answerer, a real Chroma store in a temp
folder): two forums in one store, each asked through `collection`, never answered from the other's documents;
an unknown collection is a clear 404 (a malformed name a 422) and creates nothing; /healthz, the staff routes, the
viewer, the allowed origins, the widget's starters and the chat follow the collection."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient
from fixtures_builders import write_txt
from support import build_settings
from web_fixtures import parse_sse

from ingest.pipeline import ingest_paths
from store import ChromaIndex, open_index
from store.collections import collection_settings, stored_collections
from store.embedders import FakeEmbeddings
from store.question_log import open_question_log
from web.context import warm_up_in_background
from web.server import create_app
from web.widget import widget_source

ADMIN_KEY = "staff-key-for-collection-tests-0123"
KEY = {"X-API-Key": ADMIN_KEY}
ALPHA_SITE, BETA_SITE = "https://alpha.example", "https://beta.example"
QUESTION = "Where did the forum meet and what did it discuss?"
REPORTS = {
    "alpha": {"alpha-lima.txt": "Alpha Forum in Lima\n\nThe alpha forum met in Lima in 2024. It discussed copper "
                                "mining, smelters and the Andean railway.\n",
              "alpha-cusco.txt": "Alpha Forum workshop in Cusco\n\nThe alpha forum held a workshop in Cusco about "
                                 "tourism and heritage sites.\n"},
    "beta": {"beta-quito.txt": "Beta Forum in Quito\n\nThe beta forum met in Quito in 2025. It discussed fisheries, "
                               "ports and the Pacific shipping lanes.\n"},
}


def build_store(folder) -> object:
    """A store with two collections (alpha, beta) and an empty default one; returns its settings."""
    settings = build_settings(folder, embedder="fake", answerer="fake", rate_limit="1000/minute",
                              admin_api_key=ADMIN_KEY, sample_dir=folder / "no-sample", question_log=True,
                              collections={"alpha": {"allowed_origins": [ALPHA_SITE],
                                                     "starter_questions": {"en": ["Where did alpha meet?"]}},
                                           "beta": {"allowed_origins": [BETA_SITE]}})
    for name, files in REPORTS.items():
        paths = [write_txt(folder / "reports" / name / file, text) for file, text in files.items()]
        own = collection_settings(settings, name)
        report = ingest_paths(paths, open_index(own), own)
        assert not report.failed
    return settings


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(build_store(tmp_path_factory.mktemp("collections")))


def titles(answer: dict) -> set[str]:
    return {s["title"] for s in answer["sources"] + answer["also_retrieved"]}


def own_titles(name: str) -> set[str]:
    return {text.split("\n", 1)[0] for text in REPORTS[name].values()}


@pytest.mark.parametrize(("asked", "other"), [("alpha", "beta"), ("beta", "alpha")])
def test_a_collection_answers_from_its_own_documents_only(http, asked, other):
    response = http.post("/api/ask", json={"question": QUESTION, "collection": asked})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["sources"] and titles(answer) <= own_titles(asked)
    assert not titles(answer) & own_titles(other)
    for source in answer["sources"]:  # the evidence opens in the asked collection, not the default one
        assert source["url"].startswith(f"/view/{source['doc_id']}?q=") and f"collection={asked}" in source["url"]
        page = http.get(source["url"])
        assert page.status_code == 200 and source["title"] in page.text
        assert f'/api/documents/{source["doc_id"]}/file?collection={asked}' in page.text
        assert http.get(f"/view/{source['doc_id']}?collection={other}").status_code == 404


def test_the_streamed_answer_stays_in_its_collection_too_and_is_logged_with_it(http, app):
    with http.stream("POST", "/api/chat", json={"question": "Streamed to beta?", "collection": "beta"}) as response:
        assert response.status_code == 200
        events = parse_sse("".join(response.iter_text()))
    name, final = events[-1]
    assert name == "final" and final["sources"] and titles(final) <= own_titles("beta")
    recorder = app.state.context.questions
    assert recorder.flush()
    logged = [e for e in open_question_log(app.state.context.settings).entries() if e.question == "Streamed to beta?"]
    assert [e.collection for e in logged] == ["beta"]


def test_the_default_collection_answers_without_a_collection_and_holds_neither(http):
    answer = http.post("/api/ask", json={"question": QUESTION}).json()
    assert not titles(answer) & (own_titles("alpha") | own_titles("beta"))


@pytest.mark.parametrize("route", ["/api/ask", "/api/chat"])
def test_an_unknown_collection_is_a_404_a_malformed_one_a_422_and_neither_is_created(http, app, route):
    before = stored_collections(app.state.context.settings)
    unknown = http.post(route, json={"question": QUESTION, "collection": "nowhere"})
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no collection named 'nowhere'"
    for bad in ("Bad-Name", "../alpha", "a", "x" * 41, ""):
        response = http.post(route, json={"question": QUESTION, "collection": bad})
        assert response.status_code == 422, (bad, response.text)
        assert "collection" in response.json()["detail"]
    assert stored_collections(app.state.context.settings) == before and "nowhere" not in before


def test_healthz_counts_per_collection(http):
    health = http.get("/healthz").json()
    counts = {name: c["documents"] for name, c in health["collections"].items()}
    assert {name: counts[name] for name in ("forum", "alpha", "beta")} == {"forum": 0, "alpha": 2, "beta": 1}
    assert health["documents"] == sum(counts.values())
    assert health["chunks"] == sum(c["chunks"] for c in health["collections"].values())


def test_staff_routes_take_the_collection(http):
    listed = http.get("/api/documents", params={"collection": "beta"}, headers=KEY).json()
    assert [d["title"] for d in listed["documents"]] == ["Beta Forum in Quito"]
    assert listed["documents"][0]["file_url"].endswith("/file?collection=beta")
    assert http.get("/api/documents", params={"collection": "nowhere"}, headers=KEY).status_code == 404
    doc_id = listed["documents"][0]["doc_id"]
    renamed = http.patch(f"/api/documents/{doc_id}", params={"collection": "alpha"}, json={"title": "x"},
                         headers=KEY)
    assert renamed.status_code == 404  # beta's document is not in alpha


@pytest.fixture
def own_http(tmp_path):
    """A client of an app of its own, for a test that creates collections (the module's app keeps alpha and beta
    only, whatever order the tests run in)."""
    settings = build_settings(tmp_path, embedder="fake", answerer="fake", rate_limit="1000/minute",
                              admin_api_key=ADMIN_KEY, sample_dir=tmp_path / "no-sample", max_upload_mb=0.05)
    return TestClient(create_app(settings))


def test_an_upload_may_start_a_collection_but_a_failed_one_starts_none(own_http):
    http, settings = own_http, own_http.app.state.context.settings
    files = {"files": ("gamma-santiago.txt", b"Gamma Forum in Santiago\n\nThe gamma forum met in Santiago "
                                             b"to discuss lithium and solar power.\n", "text/plain")}
    no_files = (b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--b--\r\n',
                "multipart/form-data; boundary=b")
    failed = [
        http.post("/api/documents", params={"collection": "gamma"}, content=b"x",
                  headers={**KEY, "Content-Type": "text/plain"}),
        http.post("/api/documents", params={"collection": "gamma"}, content=no_files[0],
                  headers={**KEY, "Content-Type": no_files[1]}),
        http.post("/api/documents", params={"collection": "gamma"}, headers=KEY,
                  files={"files": ("big.txt", b"x" * 60_000, "text/plain")}),
        http.post("/api/documents", params={"collection": "gamma"}, headers=KEY,
                  files={"files": ("tool.exe", b"MZ not a report", "application/octet-stream")}),
    ]
    assert [r.status_code for r in failed] == [415, 422, 413, 422], [r.text for r in failed]
    assert stored_collections(settings) == ["forum"]
    assert list(http.get("/healthz").json()["collections"]) == ["forum"]

    # An upload may start a collection (behind the admin key); it is then asked like the others.
    uploaded = http.post("/api/documents", params={"collection": "gamma"}, files=files, headers=KEY)
    assert uploaded.status_code == 200 and uploaded.json()["added"] == 1, uploaded.text
    answer = http.post("/api/ask", json={"question": QUESTION, "collection": "gamma"}).json()
    assert titles(answer) == {"Gamma Forum in Santiago"}
    gamma_id = answer["sources"][0]["doc_id"]
    assert http.get(f"/api/documents/{gamma_id}/file", params={"collection": "gamma"}).status_code == 200
    deleted = http.delete(f"/api/documents/{gamma_id}", params={"collection": "gamma"}, headers=KEY)
    assert deleted.status_code == 200 and deleted.json()["file_removed"] is True


def test_a_site_allowed_for_one_collection_may_ask_that_one_only(http):
    def ask(origin: str, collection: str | None) -> int:
        body = {"question": QUESTION, **({"collection": collection} if collection else {})}
        return http.post("/api/ask", json=body, headers={"Origin": origin}).status_code

    assert ask(ALPHA_SITE, "alpha") == 200 and ask(BETA_SITE, "beta") == 200
    assert ask(ALPHA_SITE, "beta") == 403 and ask(ALPHA_SITE, None) == 403 and ask(BETA_SITE, "alpha") == 403
    assert ask("https://elsewhere.example", "alpha") == 403
    preflight = http.options("/api/chat", headers={"Origin": ALPHA_SITE, "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ALPHA_SITE


def test_the_widget_gets_each_collections_own_starters(app):
    source = widget_source(app.state.context.settings)
    config = json.loads(re.search(r"var CONFIG = (\{.*\});\n", source).group(1))
    assert config["collectionStarters"] == {"alpha": {"en": ["Where did alpha meet?"]}}  # beta has none of its own
    assert set(config["starters"]) == {"zh", "es", "en"}  # the deployment's, for the others
    assert len(source.encode("utf-8")) < 30 * 1024


def test_the_chat_selects_a_collection_when_there_are_several(app):
    from web.chat_ui import ChatHandlers, build_chat_ui

    ctx = app.state.context
    handlers = ChatHandlers(ctx)

    async def steps(collection):
        return [step async for step in handlers.chat(QUESTION, [], "en", {}, None, collection)]

    shown, answers = asyncio.run(steps("beta"))[-1]
    assert "Beta Forum in Quito" in shown and "Alpha" not in shown and "collection=beta" in shown
    assert [e["text"] for e in handlers.examples("en", "alpha")] == ["Where did alpha meet?"]
    config = build_chat_ui(ctx).get_config_file()
    dropdowns = [c["props"] for c in config["components"] if c["type"] == "dropdown"]
    assert len(dropdowns) == 1 and dropdowns[0]["visible"] is True
    assert [choice[1] for choice in dropdowns[0]["choices"]][:3] == ["forum", "alpha", "beta"]
    relabelled = handlers.relabel_collections("es")
    assert relabelled["label"] == "Foro" and relabelled["visible"] is True and "beta" in relabelled["choices"]


DEFAULT_REPORT = "Default Forum in Santiago\n\nThe default forum met in Santiago in 2023. It discussed lithium and " \
                 "solar power.\n"


@pytest.fixture(scope="module")
def gradio_http(tmp_path_factory):
    """A client of an app whose default collection holds a report too (Gradio's queue runs in the app's lifespan)."""
    folder = tmp_path_factory.mktemp("gradio-api")
    settings = build_store(folder)
    report = ingest_paths([write_txt(folder / "reports" / "forum" / "default.txt", DEFAULT_REPORT)],
                          open_index(settings), settings)
    assert not report.failed
    with TestClient(create_app(settings)) as client:
        yield client


def gradio_call(http, route: str, body: dict) -> tuple[str, str]:
    """(the last event's name, the chat's last message) for one call of Gradio's own API, as a script would
    make it: POST /gradio_api/call[/v2]/chat, then read the event stream it names."""
    started = http.post(f"/gradio_api/{route}", json=body)
    assert started.status_code == 200, started.text
    events = parse_sse(http.get(f"/gradio_api/{route}/{started.json()['event_id']}").text)
    name, data = events[-1]
    return name, data[0] if name == "complete" else json.dumps(data)


@pytest.mark.parametrize(("route", "body", "asked"), [
    ("call/chat", {"data": [QUESTION, "en", None]}, "forum"),  # the inputs in order: message, lang, collection
    ("call/chat", {"data": [QUESTION, "en", "beta"]}, "beta"),
    ("call/chat", {"data": [QUESTION, "auto", "alpha"]}, "alpha"),
    ("call/v2/chat", {"message": QUESTION}, "forum"),  # by name: the others take their defaults
    ("call/v2/chat", {"message": QUESTION, "collection": "beta"}, "beta"),
])
def test_gradios_own_api_answers_from_the_named_collection_else_the_default_one(gradio_http, route, body, asked):
    event, shown = gradio_call(gradio_http, route, body)
    held = {"forum": {"Default Forum in Santiago"}, **{name: own_titles(name) for name in REPORTS}}
    assert event == "complete" and "**Sources**" in shown, shown
    cited = {title for name, titles in held.items() for title in titles if title in shown}
    assert cited and cited <= held[asked], shown
    link = "" if asked == "forum" else f"collection={asked}"
    assert all(link in line for line in shown.splitlines() if "/view/" in line), shown


def test_gradios_own_api_refuses_a_collection_the_store_does_not_hold(gradio_http):
    event, shown = gradio_call(gradio_http, "call/chat", {"data": [QUESTION, "en", "nowhere"]})
    assert event == "error" and "nowhere" in shown and "Santiago" not in shown


def on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_collections_are_opened_off_the_event_loop(http, app, monkeypatch):
    """Opening a collection lists the store's collections and builds its index (blocking calls, a lock): the
    async routes and the Gradio chat do it in the thread pool, so other requests are not held up meanwhile."""
    from web.chat_ui import ChatHandlers

    collections, calls = app.state.context.collections, []
    real_get = collections.get
    monkeypatch.setattr(collections, "get", lambda *a, **kw: calls.append(on_event_loop()) or real_get(*a, **kw))
    with http.stream("POST", "/api/chat", json={"question": QUESTION, "collection": "beta"}) as response:
        assert response.status_code == 200 and "event: final" in "".join(response.iter_text())
    files = {"files": ("tool.exe", b"MZ not a report", "application/octet-stream")}  # fails: alpha stays as it is
    assert http.post("/api/documents", params={"collection": "alpha"}, files=files, headers=KEY).status_code == 422

    async def chat():
        return [step async for step in ChatHandlers(app.state.context).chat(QUESTION, [], "en", {}, None, "beta")]

    assert "Beta Forum in Quito" in asyncio.run(chat())[-1][0]
    assert len(calls) == 3 and not any(calls), calls


class OtherEmbeddings(FakeEmbeddings):
    name = "fake-other"


def test_a_collection_built_with_another_embedder_leaves_the_others_healthy(tmp_path, caplog):
    settings = build_settings(tmp_path, embedder="fake", answerer="fake", sample_dir=tmp_path / "no-sample")
    ChromaIndex(collection_settings(settings, "aaa_other"), OtherEmbeddings())  # listed before zeta
    zeta = collection_settings(settings, "zeta")
    path = write_txt(tmp_path / "zeta.txt", "Zeta Forum in Lima\n\nThe zeta forum met in Lima.\n")
    assert not ingest_paths([path], open_index(zeta), zeta).failed
    app = create_app(settings)

    with caplog.at_level(logging.INFO, logger="web"):  # warm-up opens and asks every collection it can
        warm_up_in_background(app.state.context).join(timeout=120)
    assert "warm-up: the collection aaa_other cannot be opened" in caplog.text
    assert "opened collection zeta" in caplog.text and "question in collection zeta failed" not in caplog.text

    health = TestClient(app).get("/healthz")
    assert health.status_code == 200 and health.json()["documents"] == 1
    assert health.json()["collections"] == {  # the warm-up built the lexical index of every one it could open
        "forum": {"documents": 0, "chunks": 0, "provisional": 0, "lexical_index": True},
        "aaa_other": {"status": "unavailable", "error": "EmbedderMismatch"},
        "zeta": {"documents": 1, "chunks": 1, "provisional": 0, "lexical_index": True},
    }
    assert health.json()["warm"] is True


def test_staging_left_by_a_stopped_app_is_cleaned_in_every_collections_uploads(tmp_path):
    from web.uploads import STAGING, clean_staged_uploads

    settings = build_settings(tmp_path)
    dead = 2**22 + 12345  # above the largest pid_max Linux allows: no process has it
    left = [collection_settings(settings, name).uploads_path / STAGING / f"{dead}-abc" / "new" / "report.txt"
            for name in ("forum", "alpha")]
    for path in left:
        path.parent.mkdir(parents=True)
        path.write_text("half an upload", encoding="utf-8")
    assert clean_staged_uploads(settings) == 2
    assert not [p for p in settings.uploads_path.rglob("*") if p.is_file()]


def test_listing_the_collections_while_the_store_is_reopened_never_fails(tmp_path, monkeypatch):
    import threading

    from store.client import embedded_store, reopen_embedded
    from web.collections import Forum, ForumCollections

    settings = build_store(tmp_path)
    index = open_index(settings)
    collections = ForumCollections(settings, Forum(settings.collection, settings, index, qa=None))
    monkeypatch.setattr("web.collections._NAMES_TTL_S", 0.0)  # list from the store on every call
    store, done, listed, failures = embedded_store(settings), threading.Event(), [], []

    def list_until_done() -> None:
        while not done.is_set():
            try:
                listed.append(collections.names())
            except Exception as exc:  # what a request thread would turn into a 500
                failures.append(repr(exc))

    lister = threading.Thread(target=list_until_done)
    lister.start()
    for _ in range(30):  # what a web app does each time an ingest CLI commits beside it
        reopen_embedded(store, store.generation)
    done.set()
    lister.join()
    assert failures == [] and listed
    assert all(names == ["forum", "alpha", "beta"] for names in listed)
