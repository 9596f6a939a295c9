"""Hostile files: generated broken inputs each get a clear per-file error or are ingested cleanly; nothing
crashes or hangs, and a document ingested earlier is never lost."""

from __future__ import annotations

import io
import random
import time
import zipfile

import pytest
from fixtures_builders import pdf_bytes, write_docx
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ingest.pipeline import ingest_paths
from settings import Settings
from store import open_index

pytestmark = pytest.mark.slow
CANARY = "The canary report says the harbour of Valparaíso handled 42 cruise ships."
KINDS = ("pdf_truncated", "pdf_flipped", "docx_truncated", "docx_flipped", "garbage_txt", "huge_line",
         "html_scripts", "mixed_encoding", "oversize", "garbage_md", "garbage_html")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    settings = Settings(store_dir=root / "store", embedder="fake", file_timeout_s=10, max_file_mb=2)
    index = open_index(settings)
    canary = root / "canary.txt"
    canary.write_text(CANARY, encoding="utf-8")
    assert not ingest_paths([canary], index, settings).failed
    docx_path = write_docx(root / "base.docx", "Informe", ["Texto del informe sobre comercio."])
    return {"root": root, "settings": settings, "index": index, "docx": docx_path.read_bytes(),
            "pdf": pdf_bytes([["Trade report page one.", "Second line."], ["Page two."]], title="T")}


def _mutate(data: bytes, rng: random.Random, flips: int) -> bytes:
    buf = bytearray(data)
    for _ in range(flips):
        buf[rng.randrange(len(buf))] = rng.randrange(256)
    return bytes(buf)


@st.composite
def hostile_file(draw, base_pdf: bytes, base_docx: bytes):
    kind = draw(st.sampled_from(KINDS))
    rng = random.Random(draw(st.integers(0, 2**32)))
    if kind == "pdf_truncated":
        return kind, ".pdf", base_pdf[: draw(st.integers(0, len(base_pdf) - 1))]
    if kind == "pdf_flipped":
        return kind, ".pdf", _mutate(base_pdf, rng, draw(st.integers(1, 40)))
    if kind == "docx_truncated":
        return kind, ".docx", base_docx[: draw(st.integers(0, len(base_docx) - 1))]
    if kind == "docx_flipped":
        return kind, ".docx", _mutate(base_docx, rng, draw(st.integers(1, 40)))
    if kind == "garbage_txt":
        return kind, ".txt", draw(st.binary(min_size=0, max_size=4000))
    if kind == "garbage_md":
        return kind, ".md", draw(st.binary(min_size=1, max_size=2000))
    if kind == "garbage_html":
        return kind, ".html", draw(st.binary(min_size=1, max_size=2000))
    if kind == "huge_line":
        unit = draw(st.sampled_from(["a", "é", "中", "ab "]))
        return kind, ".txt", (unit * draw(st.integers(10_000, 600_000))).encode()
    if kind == "html_scripts":
        payload = draw(st.text(max_size=200))
        html = (f"<html><head><title>{payload}</title><script>alert('x')</script></head><body>"
                f"<iframe src='javascript:alert(1)'></iframe><h2>{payload}</h2><p>{payload} texto del foro</p>"
                f"<script>document.write('pwned')</script><img src=x onerror=alert(2)></body></html>")
        return kind, ".html", html.encode("utf-8", "replace")
    if kind == "mixed_encoding":
        text = draw(st.text(min_size=1, max_size=300))
        parts = [text.encode("utf-8", "replace"), "贸易投资合作".encode("gb18030"), "año inversión".encode("cp1252")]
        rng.shuffle(parts)
        return kind, ".txt", b"\n".join(parts)
    return kind, ".txt", b"x" * (2 * 1024 * 1024 + 1)  # oversize: over max_file_mb=2


def test_hostile_inputs_fail_cleanly_and_lose_nothing(workspace):
    tried: list[str] = []

    @hsettings(max_examples=220, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def ingest_one(data):
        kind, suffix, payload = data.draw(hostile_file(workspace["pdf"], workspace["docx"]))
        tried.append(kind)
        check_hostile_input(workspace, kind, workspace["root"] / f"input{suffix}", payload)

    ingest_one()
    assert len(tried) >= 200, len(tried)  # hypothesis ran (nearly) every example it was asked for
    assert set(tried) == set(KINDS), sorted(set(KINDS) - set(tried))


def check_hostile_input(workspace, kind: str, path, payload: bytes) -> None:
    path.write_bytes(payload)
    started = time.monotonic()
    report = ingest_paths([path], workspace["index"], workspace["settings"])
    elapsed = time.monotonic() - started
    (outcome,) = report.outcomes
    assert elapsed < 30, f"{kind} took {elapsed:.1f} s"
    if outcome.status == "failed":
        assert outcome.reason and "\n" not in outcome.reason and len(outcome.reason) < 400
        assert "Traceback" not in outcome.reason
    else:
        assert outcome.status in {"added", "updated", "unchanged"}
        chunks = " ".join(c.text for c in workspace["index"].committed_chunks())
        assert "alert(" not in chunks and "pwned" not in chunks, "script content is never indexed"
    if kind == "oversize":
        assert outcome.status == "failed" and "limit" in outcome.reason
    sources = [r.source for r in workspace["index"].documents()]
    assert str((workspace["root"] / "canary.txt").resolve()) in sources
    assert any(CANARY in c.text for c in workspace["index"].committed_chunks())


def test_docx_zip_bomb_is_refused(workspace):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (250 * 1024 * 1024))
    bomb = workspace["root"] / "bomb.docx"
    bomb.write_bytes(buf.getvalue())
    assert bomb.stat().st_size < 2 * 1024 * 1024
    (outcome,) = ingest_paths([bomb], workspace["index"], workspace["settings"]).outcomes
    assert outcome.status == "failed" and "zip bomb" in outcome.reason


def test_parse_time_limit(workspace):
    settings = workspace["settings"].model_copy(update={"file_timeout_s": 0.5})
    path = workspace["root"] / "slow.html"
    path.write_bytes(b"<html><body>" + b"<p>x</p>" * 200_000 + b"</body></html>")  # seconds of parsing
    started = time.monotonic()
    (outcome,) = ingest_paths([path], workspace["index"], settings).outcomes
    assert time.monotonic() - started < 3
    assert outcome.status == "failed" and "longer than" in outcome.reason
