"""Benchmarks: answer quality on XQuAD (ours vs a plain LangChain RAG) and ingest/query/app speed.

Run `python -m benchmarks.run` (full, tens of minutes) or `python -m benchmarks.run --quick` (CI, < 2 minutes).
"""
