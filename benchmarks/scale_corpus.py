"""The scale benchmark's corpus and stores: documents of benchmarks.corpus, each with one real paragraph of its
language (an XQuAD paragraph or one of the bundled samples', so the vocabulary is not only the templates'),
ingested with provisional vectors (a provisional vector has the size of a final one, so search costs the same,
and refining 100,000 chunks with mE5 would take hours on 2 cores).

Past `--embed-up-to` chunks (10,000) even USE-m is too slow for a benchmark (about 25 chunks/s on 2 busy
cores: 100,000 chunks would take over an hour), so later chunks get *recycled* vectors: the stored vector of an
earlier chunk picked by the text's hash, its USE-m half moved by a little noise (cosine about 0.9 to the
original). Texts and BM25 stay real; dense search sees 10,000 real directions, each about ten times, so the
latency it measures is the real one, and answers past that size are not a quality figure.

    python -m benchmarks.scale_corpus --store DIR --chunks N [--embedder NAME] [--embed-up-to M]

grows DIR until it holds at least N chunks; documents are numbered from 0 in order, so a rerun adds only what
is missing. It runs as a child process of the benchmark, so each store is closed before it is copied."""

from __future__ import annotations

import argparse
import logging
import random
import re
import time
import zlib
from functools import cache
from pathlib import Path

import numpy as np

from benchmarks.corpus import LANGS, make_document
from benchmarks.xquad import DatasetMissing, default_dataset_dir, load_xquad
from ingest.pipeline import ingest_paths
from settings import Settings, apply_offline_environment
from store import NamedEmbeddings, make_embedder, open_index

log = logging.getLogger("benchmarks.scale_corpus")
SAMPLE_DIR = Path(__file__).resolve().parents[1] / Settings.model_fields["sample_dir"].default
_SAMPLE_LANGUAGE = re.compile(r"-(en|es|zh)\.(md|txt)$")
EMBED_UP_TO = 10_000
_NOISE = 0.02  # per dimension of the 512-d USE-m half: |noise| ~ 0.45, cosine to the original ~ 0.9


@cache
def real_paragraphs(xquad: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Language -> the XQuAD paragraphs (when the dataset is there) and the bundled samples' paragraphs."""
    found: dict[str, list[str]] = {lang: [] for lang in LANGS}
    try:
        data = load_xquad(xquad or default_dataset_dir())
        for lang in LANGS:
            found[lang] += [p.text for p in data.paragraphs[lang]]
    except DatasetMissing as exc:
        log.warning("scale corpus without XQuAD paragraphs: %s", exc)
    for path in sorted(SAMPLE_DIR.iterdir()):
        if language := _SAMPLE_LANGUAGE.search(path.name):
            text = path.read_text(encoding="utf-8")
            found[language.group(1)] += [p.strip() for p in text.split("\n\n") if len(p.strip()) > 80]
    return {lang: tuple(paragraphs) for lang, paragraphs in found.items()}


def scale_document(number: int) -> tuple[str, str]:
    """(file name, content) of document `number`: benchmarks.corpus's, with one real paragraph after its title."""
    name, content = make_document(random.Random(f"7:{number}"), number)
    pool = real_paragraphs()[LANGS[number % 3]]
    if pool:
        title, _, body = content.partition("\n\n")
        content = f"{title}\n\n{random.Random(f'scale:{number}').choice(pool)}\n\n{body}"
    return name, content


def write_documents(folder: Path, first: int, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(first, first + count):
        name, content = scale_document(number)
        (path := folder / name).write_text(content, encoding="utf-8")
        paths.append(path)
    return paths


def corpus_folder(store: Path) -> Path:
    return store.parent / f"{store.name}-corpus"


def corpus_files(store: Path, count: int) -> list[Path]:
    """The first `count` documents a store grown by `grow` was given (written again when missing)."""
    return write_documents(corpus_folder(store), 0, count)


def recycle_vectors(embedder: NamedEmbeddings, pool: np.ndarray) -> None:
    """From now on `embedder` stores, as provisional vectors, noisy copies of `pool`'s (see the module's doc)."""
    fast = embedder.part_slices[0]
    scale = np.linalg.norm(pool[0, fast])

    def embed_provisional(texts) -> np.ndarray:
        out = np.empty((len(texts), pool.shape[1]), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = zlib.crc32(text.encode("utf-8"))
            vector = pool[seed % len(pool)].copy()
            half = vector[fast] / scale + np.random.default_rng(seed).normal(0.0, _NOISE, fast.stop - fast.start)
            vector[fast] = scale * half / np.linalg.norm(half)
            out[row] = vector
        embedder.documents_embedded += len(texts)
        return out

    embedder.embed_provisional = embed_provisional


def grow(store: Path, chunks: int, embedder_name: str, embed_up_to: int = EMBED_UP_TO) -> dict:
    """Ingest documents (in process, not refined) until `store` holds at least `chunks` chunks; past
    `embed_up_to` chunks with recycled vectors."""
    settings = Settings(_env_file=None, store_dir=store, embedder=embedder_name, answerer="extractive")
    embedder = make_embedder(settings)
    index = open_index(settings, embedder)
    seconds, added, recycled = 0.0, 0, False
    while (total := index.chunk_total()) < chunks:
        documents = len(index.documents(fresh=False))
        per_document = total / documents if documents else 4.0
        goal = chunks if total >= embed_up_to or not embedder.refinable else min(chunks, embed_up_to)
        if total >= embed_up_to and embedder.refinable and not recycled:
            pool = np.asarray(index.stored_rows(include=("embeddings",))["embeddings"], dtype=np.float32)
            recycle_vectors(embedder, pool)
            recycled = True
        count = max(10, min(5000, int((goal - total) / per_document) + 1))
        paths = write_documents(corpus_folder(store), documents, count)
        log.info("adding documents %s-%s (%s chunks so far)", documents, documents + count - 1, total)
        started = time.perf_counter()
        ingest_paths(paths, index, settings, refine=False)
        seconds += time.perf_counter() - started
        added += index.chunk_total() - total
    return {"chunks": index.chunk_total(), "documents": len(index.documents(fresh=False)),
            "chunks_added": added, "ingest_s": round(seconds, 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--embedder", default=Settings.model_fields["embedder"].default)
    parser.add_argument("--embed-up-to", type=int, default=EMBED_UP_TO,
                        help="chunks embedded for real; later ones get recycled vectors")
    args = parser.parse_args(argv)
    apply_offline_environment()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    print(grow(args.store, args.chunks, args.embedder, args.embed_up_to))


if __name__ == "__main__":
    main()
