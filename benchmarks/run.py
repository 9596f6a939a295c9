"""python -m benchmarks.run [--quick] [--out FILE.json] [--xquad DIR] [--only quality|speed|visitor|scale]
[--embedders LIST] [--sizes 1000,10000,100000] [--keep DIR]

Prints Markdown tables and writes the results as JSON (default benchmarks/results/latest.json). Every index
is built fresh in a temporary folder; nothing is cached between runs, except the scale part's stores in --keep.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks import baseline, quality, visitor
from benchmarks.report import evaluate_targets, render, render_targets
from benchmarks.scale import SIZES, ScalePlan, run_scale
from benchmarks.scale_report import SCALE_TARGETS, plot_scale, render_scale
from benchmarks.speed import SpeedPlan, run_speed
from benchmarks.xquad import LANGS, DatasetMissing, default_dataset_dir, load_xquad
from settings import Settings, apply_offline_environment
from store import make_embedder
from store.embedders import EMBEDDERS

log = logging.getLogger("benchmarks")
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass
class Profile:
    mode: str
    paragraphs: int | None  # None: all 240
    questions_per_paragraph: int | None  # None: all (1190 in all)
    embedders: tuple[str, ...]
    answer_every: dict[str, int]  # answer every n-th question per language (e5 answers cost ~0.5 s each)
    speed: SpeedPlan = field(default_factory=SpeedPlan)


FULL = Profile("full", None, None, ("usem3+e5", "usem3", "e5"), {"usem3+e5": 1, "usem3": 1, "e5": 10})
QUICK = Profile("quick", 24, 1, ("usem3+e5",), {"usem3+e5": 1},
                SpeedPlan(documents=40, large_chunks=200, questions=24, warmup=3, app_queries=5, app_starts=1))


def run_quality(dataset: Path, profile: Profile, workdir: Path, save) -> dict:
    try:
        data = load_xquad(dataset, profile.paragraphs, profile.questions_per_paragraph)
    except DatasetMissing as exc:
        log.warning("quality skipped: %s", exc)
        return {"status": "skipped", "reason": f"XQuAD not found ({exc})"}
    every_lang = [q for lang in LANGS for q in data.questions[lang]]
    same_lang = [q for lang in ("es", "zh") for q in data.questions[lang]]
    mixed = [p for lang in LANGS for p in data.paragraphs[lang]]
    result = {
        "status": "ok", "dataset": str(dataset), "paragraphs": len(data.paragraphs["en"]),
        "questions": data.question_count, "rows": [], "indexes": [], "notes": [
            f"R@k, MRR@10: the gold paragraph (document level). Index en: the {len(data.paragraphs['en'])} English "
            "paragraphs; mixed: the paragraphs in all three languages, gold in the question's language.",
            "Answer hit: the answer contains the English gold answer (ours: the quoted 1-3 sentences; baseline: "
            "its whole first chunk, so it is closer to a recall@1 of chunks).",
            "Answered n < n: every n-th question only ("
            + ", ".join(f"{k}: 1 in {v}" for k, v in profile.answer_every.items()) + ").",
        ],
    }
    for kind in profile.embedders:
        embedder = make_embedder(Settings(_env_file=None, embedder=kind))
        runs = [
            ("ours", "en", data.paragraphs["en"], every_lang, "en"),
            ("baseline", "en", data.paragraphs["en"], every_lang, "en"),
            ("ours", "mixed", mixed, same_lang, None),
            ("baseline", "mixed", mixed, same_lang, None),
        ]
        for system, index_name, paragraphs, questions, gold_lang in runs:
            folder = workdir / f"{kind}-{system}-{index_name}"
            log.info("quality: %s / %s / index %s", system, kind, index_name)
            answer_every = profile.answer_every.get(kind, 1) if index_name == "en" else 0
            if system == "ours":
                built = quality.build_index(paragraphs, folder, kind, embedder)
                tallies = quality.evaluate(built, questions, gold_lang, answer_every)
            else:
                built = baseline.build_baseline(paragraphs, folder, embedder)
                tallies = baseline.evaluate_baseline(built, questions, gold_lang, answer=index_name == "en")
            result["rows"] += quality.rows(tallies, system=system, embedder=kind, index=index_name, gold_lang=gold_lang)
            result["indexes"].append({"system": system, "embedder": kind, "index": index_name, **built.stats()})
            save(result)
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Quality on XQuAD (ours vs a plain LangChain RAG) and speed; prints Markdown, writes JSON.",
    )
    parser.add_argument("--quick", action="store_true", help="a small subset (< 2 minutes), for CI")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--xquad", type=Path, default=default_dataset_dir(), help="folder of xquad.{en,es,zh}.json")
    parser.add_argument("--only", choices=["quality", "speed", "visitor", "scale"],
                        help="run one part (visitor: benchmarks/visitor.py; scale: benchmarks/scale.py, the growth "
                        "to 100,000 chunks, over an hour on 2 cores; both only with --only)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="scale: comma-separated store sizes in chunks")
    parser.add_argument("--keep", type=Path, help="scale: keep the built stores in this folder and reuse them "
                        "(default: a temporary folder, rebuilt every run)")
    parser.add_argument("--embedders", help="comma-separated embedders for the quality part (default: "
                        "usem3+e5,usem3,e5; quick: usem3+e5); a full run takes about an hour on 2 cores")
    args = parser.parse_args(argv)
    unknown = set((args.embedders or "").replace(" ", "").split(",")) - {"", *EMBEDDERS}
    if unknown:
        parser.error(f"unknown embedder(s): {', '.join(sorted(unknown))}")
    try:
        args.sizes = tuple(int(size) for size in args.sizes.replace("_", "").split(",") if size.strip())
    except ValueError:
        parser.error(f"--sizes takes whole numbers of chunks, separated by commas: {args.sizes!r}")
    if not args.sizes or min(args.sizes) < 10:
        parser.error("--sizes needs sizes of at least 10 chunks")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_offline_environment()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)
    profile = QUICK if args.quick else FULL
    if args.embedders:
        profile = replace(profile, embedders=tuple(e.strip() for e in args.embedders.split(",") if e.strip()))
    started = time.perf_counter()
    results: dict = {"meta": {
        "mode": profile.mode, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
        "python": platform.python_version(), "platform": platform.platform(), "duration_s": 0.0,
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }}

    def save() -> None:
        results["meta"]["duration_s"] = round(time.perf_counter() - started, 1)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")

    with tempfile.TemporaryDirectory(prefix="forumqa-bench-") as tmp:
        if args.only in (None, "speed"):
            results["speed"] = {"status": "ok", **run_speed(Path(tmp) / "speed", profile.speed)}
            save()
        else:
            results["speed"] = {"status": "skipped", "reason": f"--only {args.only}"}
        if args.only in (None, "quality"):
            def save_quality(partial: dict) -> None:
                results["quality"] = partial
                save()

            results["quality"] = run_quality(args.xquad, profile, Path(tmp) / "quality", save_quality)
        else:
            results["quality"] = {"status": "skipped", "reason": f"--only {args.only}"}
        if args.only == "visitor":
            results["visitor"] = visitor.run_visitor(Path(tmp) / "visitor")
            save()
        if args.only == "scale":
            def save_scale(partial: dict) -> None:
                results["scale"] = partial
                save()

            plan = ScalePlan(sizes=args.sizes)
            if args.quick:
                plan = replace(plan, questions=15, warmup=3, app_starts=1)
            run_scale(args.keep or Path(tmp) / "scale", plan, save_scale)
    results["meta"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = evaluate_targets(results, quick=args.quick)
    if args.only == "scale":
        results["targets"] = evaluate_targets(results, quick=args.quick, targets=SCALE_TARGETS)
    save()
    if args.only == "visitor":
        found = results["visitor"]
        print(visitor.render(found) if found["status"] == "ok" else f"visitor set skipped: {found['reason']}")
    elif args.only == "scale":
        plot = plot_scale(results["scale"], args.out.with_name(args.out.stem + "-scale.png"))
        print(render_scale(results["scale"]) + "\n\n" + render_targets(results["targets"]))
        print(f"\nplot: {plot}")
    else:
        print(render(results))
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
