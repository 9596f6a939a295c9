"""Crash-safe ingest: SIGKILL a real ingest process at several points; nothing listed is ever half-written."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from support import build_settings, subprocess_env

from store import open_index

pytestmark = pytest.mark.slow

PARAGRAPH = (
    "Report {i}: in {year}, the working group on ports and logistics number {i} reviewed {n} projects. "
    "El grupo de trabajo {i} revisó {n} proyectos de infraestructura portuaria y logística en {year}. "
    "第{i}工作组在{year}年审议了{n}个港口与物流项目，并提出了合作建议。"
)


def write_corpus(folder: Path, files: int, seed: int) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        body = "\n\n".join(PARAGRAPH.format(i=i, year=2000 + rng.randrange(26), n=rng.randrange(5, 90))
                           for _ in range(rng.randrange(4, 12)))
        (folder / f"report-{i:03d}.md").write_text(f"# Report {i}\n\n{body}\n", encoding="utf-8")


def ingest_cmd(store: Path, corpus: Path) -> list[str]:
    return [sys.executable, "-m", "ingest", "--store", str(store), str(corpus)]


def assert_consistent(store: Path) -> int:
    """Every listed document has exactly the chunks its record promises, and retrieval sees no others."""
    index = open_index(build_settings(store.parent, store_dir=store))
    records = index.documents()
    searchable = Counter((c.metadata["doc_id"], c.metadata["sha256"]) for c in index.committed_chunks())
    assert searchable == {(r.doc_id, r.sha256): r.chunks for r in records}
    return len(records)


def test_sigkill_at_several_points_then_rerun_completes(tmp_path):
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    write_corpus(corpus, files=40, seed=1)
    # Small write batches, so that a run commits many times and the kills land between and inside batches.
    env = {**subprocess_env(write_batch_chunks="6"), "PYTHONUNBUFFERED": "1"}
    rng = random.Random(7)
    kills = 0
    listed_after_kill = []
    # Kill after the k-th finished file, plus a random few milliseconds so some kills land mid-document.
    for after_files in (1, 3, 6, 10, 15):
        proc = subprocess.Popen(ingest_cmd(store, corpus), cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        seen = 0
        for line in proc.stdout:
            if line.startswith(("added", "updated")):
                seen += 1
                if seen >= after_files:
                    time.sleep(rng.uniform(0, 0.05))
                    break
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        proc.stdout.close()
        listed_after_kill.append(assert_consistent(store))
        # Change a few files between kills so the next run also replaces documents (old + new versions).
        for path in sorted(corpus.glob("*.md"))[:3]:
            path.write_text(path.read_text(encoding="utf-8") + f"\n\nRevision {after_files}.\n", encoding="utf-8")
    assert kills >= 4, "the ingest finished before most kills: make the corpus bigger"
    assert listed_after_kill == sorted(listed_after_kill), "documents committed before a kill are never lost"

    done = subprocess.run(ingest_cmd(store, corpus), cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert assert_consistent(store) == 40
    index = open_index(build_settings(tmp_path, store_dir=store))
    assert index.repair() == 0, "the completing run removed every orphan chunk"
    texts = "\n".join(c.text for c in index.committed_chunks())
    assert "Revision 15." in texts and "Revision 10." in texts
