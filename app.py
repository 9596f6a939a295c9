"""python app.py [--store DIR] [--host H] [--port P]

One process, one port: the Gradio chat at /, the HTTP API under /api (docs at /docs), the embeddable widget at
/widget.js and /healthz. An empty store first gets the bundled sample corpus. The wiring lives in web/."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from faults import MissingBackend
from settings import InvalidSettings, apply_offline_environment, load_settings

ROOT = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python app.py", description="Serve the forum-reports chat, API and widget.")
    parser.add_argument("--store", type=Path, help="store folder (default data/index or FORUMQA_STORE_DIR)")
    parser.add_argument("--host", help="bind address (default 127.0.0.1 or FORUMQA_HOST)")
    parser.add_argument("--port", type=int, help="port (default 7860 or FORUMQA_PORT)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serves until stopped; exit status 2, with one line, when the settings, a backend or the store are not
    usable."""
    args = parse_args(argv)
    apply_offline_environment()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    import uvicorn

    from store import StoreError
    from web.connections import http_protocol
    from web.server import create_app

    try:
        settings = load_settings(store_dir=args.store, host=args.host, port=args.port)
        if not settings.sample_dir.is_absolute() and not settings.sample_dir.exists():
            settings = settings.model_copy(update={"sample_dir": ROOT / settings.sample_dir})
        app = create_app(settings)
    except (InvalidSettings, MissingBackend, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Open streams (SSE answers, Gradio heartbeats) get a few seconds to end on shutdown, not forever.
    # X-Forwarded-For is read by the app from settings.trusted_proxies only (uvicorn would trust loopback).
    uvicorn.run(
        app, host=settings.host, port=settings.port, timeout_graceful_shutdown=5,
        proxy_headers=False, timeout_keep_alive=settings.keep_alive_timeout_s,
        http=http_protocol(settings.body_timeout_s),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
