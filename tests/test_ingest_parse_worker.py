"""The parse child's protocol holds: a library that prints cannot corrupt a reply, a child whose reply went wrong
is never reused, and a file that needs more memory than parse_memory_mb is refused with a named error."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from ingest import parse_worker
from ingest.errors import ParseOutOfMemory
from ingest.parse_worker import ParseWorkerError, parse_in_worker, stop_idle_workers
from settings import Settings

NOISY_STARTUP = '''
import os
import ingest.loaders

_load_text = ingest.loaders.LOADERS[".txt"]


def _noisy(data, path):
    print("a library says hello", flush=True)
    os.write(1, b"and a C library writes to fd 1\\n")
    return _load_text(data, path)


ingest.loaders.LOADERS[".txt"] = _noisy
'''


@pytest.fixture
def fresh_workers():
    stop_idle_workers()
    yield
    stop_idle_workers()


def test_a_loader_that_prints_to_stdout_still_parses(tmp_path, monkeypatch, fresh_workers):
    # sitecustomize runs in every child at start-up, as a chatty library would be imported there
    (tmp_path / "sitecustomize.py").write_text(NOISY_STARTUP)
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{repo}")
    settings = Settings(embedder="fake")
    for title in ("Informe uno", "Informe dos"):
        loaded = parse_in_worker("nota.txt", f"{title}\n\nEl puerto recibe 11 barcos.".encode(), settings)
        assert loaded.title == title


def test_a_worker_whose_reply_went_wrong_is_not_reused(monkeypatch, fresh_workers):
    settings = Settings(embedder="fake")
    real_read_line = parse_worker._Child._read_line
    calls = []

    def garbled_once(self, deadline):
        calls.append(1)
        if len(calls) == 2:  # the first file's reply (after "ready"); its real reply stays in the pipe
            return b"\x00garbage\n"
        return real_read_line(self, deadline)

    monkeypatch.setattr(parse_worker._Child, "_read_line", garbled_once)
    with pytest.raises(ParseWorkerError):
        parse_in_worker("uno.txt", b"Informe uno\n\nPrimer texto.", settings)
    monkeypatch.setattr(parse_worker._Child, "_read_line", real_read_line)
    assert parse_in_worker("dos.txt", b"Informe dos\n\nSegundo texto.", settings).title == "Informe dos"


def big_paragraphs_docx(paragraphs: int, chars: int) -> bytes:
    """A small DOCX whose `paragraphs` paragraphs of `chars` letters each take far more memory once read."""
    body = (b"<w:p><w:r><w:t>" + b"a" * chars + b"</w:t></w:r></w:p>") * paragraphs
    document = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                + body + b"</w:body></w:document>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("word/document.xml", document)
    return out.getvalue()


def test_a_file_that_needs_more_memory_than_the_budget_is_refused(fresh_workers):
    bomb = big_paragraphs_docx(40_000, 2_500)  # 100 MB of text from a file of a few hundred KB
    assert len(bomb) < 1_000_000
    settings = Settings(embedder="fake", parse_memory_mb=160, max_text_chars=200_000_000, file_timeout_s=60)
    with pytest.raises(ParseOutOfMemory, match="memory"):
        parse_in_worker("bomba.docx", bomb, settings)
    # the next file gets a sound child
    assert parse_in_worker("nota.txt", b"Informe tres\n\nTexto.", settings).title == "Informe tres"
