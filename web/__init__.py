"""The web front: HTTP API, Gradio chat, embeddable widget, and their security (origins, rate limit, admin key).

`web.server.create_app(settings)` builds the one FastAPI app that `app.py` serves."""
