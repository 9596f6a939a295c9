"""The start-up baseline: the least a Gradio chat served by FastAPI and uvicorn costs, with no model or index.

`python -m benchmarks.bare_app PORT` serves an echo ChatInterface at / and GET /healthz, like app.py does."""

from __future__ import annotations

import sys

from settings import apply_offline_environment


def main(port: int) -> None:
    apply_offline_environment()
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()
    app.get("/healthz")(lambda: {"status": "ok"})
    chat = gr.ChatInterface(lambda message, history: message, title="echo")
    uvicorn.run(gr.mount_gradio_app(app, chat, path="/", ssr_mode=False), host="127.0.0.1", port=port,
                log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
