"""The scale benchmark's table, its targets (issue 14's acceptance, at 100,000 chunks) and its plot (PNG)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchmarks.report import GIB_MB, Target, markdown_table

TARGET_CHUNKS = 100_000


def _at_target(*path: str) -> Callable[[dict], float | None]:
    """The figure at `path` in the largest size's row, when that size is at least 100,000 chunks."""

    def read(results: dict) -> float | None:
        sizes = results.get("scale", {}).get("sizes") or []
        value = max(sizes, key=lambda row: row["chunks"], default={"chunks": 0})
        if value["chunks"] < TARGET_CHUNKS:
            return None
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, int | float) else None

    return read


def _figure(row: dict, *path: str) -> float:
    """A figure of the row, NaN (a gap in the plot) when it was not measured."""
    value = row
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else float("nan")


def _first_after_add(row: dict) -> float | None:
    after = row.get("first_question", {}).get("after_add_ms") or []
    return max(after) if after else None


SCALE_TARGETS: list[Target] = [
    ("100k chunks: ask p50, ms", _at_target("latency", "p50_ms"), "< 60", lambda v: v < 60, False),
    ("100k chunks: ask p95, ms", _at_target("latency", "p95_ms"), "< 150", lambda v: v < 150, False),
    ("100k chunks: slowest of the first 5 questions after adding a document, ms",
     _at_target("first_question", "after_add_max_ms"), "< 300", lambda v: v < 300, False),
    ("100k chunks: app ready (GET /healthz 200), s", _at_target("app", "ready_s"), "< 10", lambda v: v < 10, False),
    ("100k chunks: app peak RSS, MiB", _at_target("app", "peak_rss_mb"), "< 1.5 GiB",
     lambda v: v < 1.5 * GIB_MB, False),
    ("100k chunks: re-ingest of 1,000 unchanged files, s", _at_target("reingest", "seconds"), "< 3",
     lambda v: v < 3, False),
]


def _load(row: dict) -> str:
    return ", ".join(f"{x:g}" for x in row.get("load_average", []))


def render_scale(scale: dict) -> str:
    if scale.get("status") != "ok":
        return f"## Scale\n\nSkipped: {scale.get('reason', 'not run')}"
    rows = []
    for row in scale["sizes"]:
        lat, app, bm25, first = row["latency"], row["app"], row["bm25"], row["first_question"]
        rows.append([
            f"{row['chunks']:,}", f"{row['documents']:,}", lat["p50_ms"], lat["p95_ms"], _first_after_add(row),
            first.get("bm25_current_after_s"), app.get("ready_s"), app.get("peak_rss_mb"),
            f"{row['reingest']['seconds']} ({row['reingest']['unchanged']:,})", bm25["refresh_s"],
            bm25.get("refresh_on_previous_s"), bm25["held_mb"],
            row["disk_mb"], _load(row),
        ])
    ours = markdown_table(
        ["Chunks", "Docs", "ask p50 ms", "ask p95 ms", "1st after add ms", "BM25 swapped s", "app ready s",
         "app RSS MiB", "re-ingest s (files)", "BM25 full build s", "BM25 on previous s", "BM25 holds MiB",
         "disk MiB", "load avg"], rows)
    base = [[f"{row['chunks']:,}", b["chunks"], b["p50_ms"], b["p95_ms"], b["build_s"], b["disk_mb"], _load(b)]
            for row in scale["sizes"] if (b := row.get("baseline"))]
    parts = [f"## Scale (embedder {scale['embedder']}; past {scale['embed_up_to']:,} chunks the vectors are "
             "recycled, see benchmarks/scale_corpus.py)", ours]
    if base:
        parts += ["Plain LangChain RAG over the same files (its own 1000/200 chunks, our provisional vectors, "
                  "similarity_search top-4; no BM25, app or idempotent re-ingest to measure):",
                  markdown_table(["Our chunks", "Its chunks", "ask p50 ms", "ask p95 ms", "build s", "disk MiB",
                                  "load avg"], base)]
    return "\n\n".join(parts)


def plot_scale(scale: dict, path: Path) -> Path | None:
    """Latency, memory and refresh times against the corpus size (log x), as a PNG; None without sizes."""
    sizes = scale.get("sizes", [])
    if not sizes:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [row["chunks"] for row in sizes]
    fig, (lat, mem, times) = plt.subplots(1, 3, figsize=(14, 4.2))
    lat.plot(x, [r["latency"]["p50_ms"] for r in sizes], "o-", label="ask p50")
    lat.plot(x, [r["latency"]["p95_ms"] for r in sizes], "o-", label="ask p95")
    lat.plot(x, [_figure(r, "first_question", "after_add_max_ms") for r in sizes], "o--",
             label="slowest of 5 after adding a document")
    base = [(r["chunks"], r["baseline"]["p50_ms"]) for r in sizes if r.get("baseline")]
    if base:
        lat.plot(*zip(*base), "s:", label="LangChain baseline p50")
    lat.axhline(60, color="grey", lw=0.8, ls=":")
    lat.axhline(150, color="grey", lw=0.8, ls=":")
    lat.set(title="Latency (ms, log)", xscale="log", yscale="log", xlabel="chunks")
    mem.plot(x, [_figure(r, "app", "peak_rss_mb") for r in sizes], "o-", label="app peak RSS")
    mem.plot(x, [r["disk_mb"] for r in sizes], "o-", label="store on disk")
    mem.plot(x, [r["bm25"]["held_mb"] for r in sizes], "o-", label="BM25 index held")
    mem.axhline(1.5 * GIB_MB, color="grey", lw=0.8, ls=":")
    mem.set(title="Memory and disk (MiB)", xscale="log", xlabel="chunks")
    times.plot(x, [_figure(r, "app", "ready_s") for r in sizes], "o-", label="app ready (a gap: no /healthz 200)")
    times.plot(x, [r["bm25"]["refresh_s"] for r in sizes], "o-", label="BM25 full build (read + tokenize)")
    times.plot(x, [r["bm25"].get("refresh_on_previous_s") for r in sizes], "o-", label="BM25 built on the previous")
    times.plot(x, [r["reingest"]["seconds"] for r in sizes], "o-", label="re-ingest 1,000 unchanged")
    times.set(title="Times (s)", xscale="log", xlabel="chunks")
    for ax in (lat, mem, times):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    loads = "; ".join(_load(r) for r in sizes)
    fig.suptitle(f"Growth with the corpus ({scale['embedder']}, 2 cores, load average {loads})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
