"""Text handling that ingest/, store/ and bot/ share: the served languages, scripts, language detection and
search tokens. A leaf: it imports nothing from the project's stages."""
