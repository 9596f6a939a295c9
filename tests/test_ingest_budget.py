"""Parsing runs under a time and size budget in a child process that is killed past it, for uploads (a server
thread) and the CLI alike; DOCX loads in linear time; the store's write lock is never held while parsing."""

from __future__ import annotations

import io
import string
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from web_fixtures import running_app

from ingest.errors import FileTooLarge
from ingest.loaders import load_docx

ADMIN_KEY = "budget-admin-key-0123456789abcdef"
BOMB_PARAGRAPHS = 616_809
BUDGET_S = 3.0
NOTE = ("Nota de prueba sobre el puerto de Chancay\n\nEl puerto de Chancay recibió 17 grúas nuevas en 2025 "
        "según esta nota ficticia.\n").encode()


def paragraph_docx(paragraphs: int, in_table: bool = False) -> bytes:
    """A DOCX (python-docx's template) whose body holds `paragraphs` one-letter paragraphs (each in a table
    cell of its own when `in_table`)."""
    import docx

    template = io.BytesIO()
    docx.Document().save(template)
    body = "".join(f"<w:p><w:r><w:t>{string.ascii_lowercase[i % 26]}</w:t></w:r></w:p>" for i in range(paragraphs))
    if in_table:
        body = "<w:tbl><w:tr>" + body.replace("<w:p>", "<w:tc><w:p>").replace("</w:p>", "</w:p></w:tc>") + \
            "</w:tr></w:tbl><w:p><w:r><w:t>end</w:t></w:r></w:p>"
    out = io.BytesIO()
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dest:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + body.encode(), 1)
            dest.writestr(info.filename, data)
    return out.getvalue()


def slow_html(size: int) -> bytes:
    """Valid HTML that takes BeautifulSoup seconds per MB: many tiny elements."""
    return b"<html><body>" + b"<p>x</p>" * (size // 8) + b"</body></html>"


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = paragraph_docx(BOMB_PARAGRAPHS)
    assert len(data) < 160_000, len(data)  # a small file...
    return data


def test_docx_loads_in_linear_time_and_a_paragraph_bomb_is_refused(bomb):
    small, large = paragraph_docx(2_000), paragraph_docx(40_000)
    started = time.process_time()  # CPU time: a busy machine must not fail it (3.8 s of wall time at load 6)
    assert len(load_docx(small, Path("s.docx")).text) == 2 * 2_000 - 1
    small_s = time.process_time() - started
    started = time.process_time()
    assert len(load_docx(large, Path("l.docx")).text) == 2 * 40_000 - 1
    large_s = time.process_time() - started
    assert large_s < 20.0, f"40,000 paragraphs took {large_s:.2f} s"  # was ~3 ms per paragraph: 2 minutes
    assert large_s < 20 * 5 * max(small_s, 0.005), (small_s, large_s)  # 20x the paragraphs, not 400x the time
    started = time.monotonic()
    with pytest.raises(FileTooLarge, match="paragraphs"):
        load_docx(bomb, Path("bomb.docx"))
    assert time.monotonic() - started < BUDGET_S


def test_a_bomb_of_paragraphs_in_table_cells_is_refused_too():
    bomb = paragraph_docx(BOMB_PARAGRAPHS // 5, in_table=True)
    started = time.monotonic()
    with pytest.raises(FileTooLarge, match="paragraphs"):
        load_docx(bomb, Path("table-bomb.docx"))
    assert time.monotonic() - started < BUDGET_S
    assert load_docx(paragraph_docx(50, in_table=True), Path("t.docx")).text == "end"  # table text: as before


@pytest.mark.slow
def test_upload_bombs_are_refused_within_the_budget_while_a_parallel_upload_succeeds(tmp_path, bomb):
    with running_app(tmp_path, admin_api_key=ADMIN_KEY, embedder="fake", file_timeout_s=BUDGET_S,
                     max_upload_mb=3) as app, app.client() as http:

        def upload(name: str, data: bytes) -> tuple[int, dict, float]:
            started = time.monotonic()
            response = http.post("/api/documents", files=[("files", (name, data))], headers={"X-API-Key": ADMIN_KEY})
            return response.status_code, response.json(), time.monotonic() - started

        for name, data, reason in (("bomb.docx", bomb, "paragraphs"), ("slow.html", slow_html(2_000_000), "longer")):
            with ThreadPoolExecutor(2) as pool:
                hostile = pool.submit(upload, name, data)
                time.sleep(0.3)  # the hostile file is being parsed when the normal one arrives
                normal = pool.submit(upload, f"nota-{name}.txt", NOTE)
                (status, body, seconds), (normal_status, normal_body, normal_s) = hostile.result(), normal.result()
            print(f"{name} ({len(data)} bytes) refused in {seconds:.2f} s; the parallel upload took {normal_s:.2f} s")
            assert status == 422 and body["files"][0]["status"] == "failed", body
            assert reason in body["files"][0]["reason"], body
            assert seconds < BUDGET_S + 2.0, f"{name} was refused after {seconds:.1f} s (budget {BUDGET_S} s)"
            assert normal_status == 200 and normal_body["added"] == 1, normal_body
            assert normal_s < BUDGET_S + 2.0, f"the parallel upload took {normal_s:.1f} s"
        listing = http.get("/api/documents", headers={"X-API-Key": ADMIN_KEY}).json()["documents"]
        stored = {Path(d["source"]).name for d in listing}
        assert {"nota-bomb.docx.txt", "nota-slow.html.txt"} <= stored and not {"bomb.docx", "slow.html"} & stored
        uploads = app.store.parent / "store-uploads"
        assert not (uploads / "bomb.docx").exists() and not (uploads / "slow.html").exists()


@pytest.mark.slow
def test_the_cli_parses_within_the_budget_without_holding_the_store_lock(tmp_path, env, bomb):
    budget_s = 15.0  # long enough for a second CLI to start and write while the first one parses
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "bomb.docx").write_bytes(bomb)
    (folder / "slow.html").write_bytes(slow_html(6_000_000))  # ~30 s of parsing
    (tmp_path / "nota.txt").write_bytes(NOTE)
    env = {**env, "FORUMQA_EMBEDDER": "fake", "FORUMQA_FILE_TIMEOUT_S": str(budget_s), "FORUMQA_MAX_FILE_MB": "10"}

    def ingest(*args: object) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "ingest", *map(str, args)], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    first = ingest(folder)
    lines = []
    while not any("bomb.docx" in line for line in lines):  # refused: now the first CLI parses slow.html
        line = first.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
    parsing_since = time.monotonic()
    second = ingest(tmp_path / "nota.txt")
    second_out, _ = second.communicate(timeout=120)
    assert time.monotonic() - parsing_since < budget_s, "the second CLI ended after the first one's parse"
    assert second.returncode == 0 and "1 added" in second_out, second_out  # the lock was free: no "another ingest"
    rest, _ = first.communicate(timeout=120)
    out = "".join(lines) + rest
    refused_after = time.monotonic() - parsing_since
    assert first.returncode == 1, out
    assert "paragraphs" in "".join(lines), out
    assert "FAILED" in rest and "longer than 15 s" in rest, out
    assert refused_after < budget_s + 3, f"slow.html was refused {refused_after:.1f} s after its parse began"
