"""Loaders, chunking and the ingest CLI (`python -m ingest`)."""
