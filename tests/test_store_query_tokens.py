"""A long question is encoded by its start only (settings.max_query_tokens), in each model's own tokens."""

from __future__ import annotations

import numpy as np
import pytest

from store.embedders import E5SmallEmbeddings, FakeEmbeddings, make_embedder

LONG_CHINESE = ("2024年中国与拉美的贸易额是多少？" * 200)[:2000]


def test_a_question_over_the_limit_is_encoded_by_its_start(make_settings):
    embedder = make_embedder(make_settings(embedder="fake", max_query_tokens=8))
    kept = embedder.query_text(LONG_CHINESE)
    assert LONG_CHINESE.startswith(kept) and embedder.count_tokens(kept) == 8
    assert np.array_equal(embedder.embed_query_array(LONG_CHINESE), embedder.embed_query_array(kept))
    assert embedder.query_text("trade in 2024?") == "trade in 2024?"


def test_without_a_limit_the_whole_question_is_encoded():
    assert FakeEmbeddings().query_text(LONG_CHINESE) == LONG_CHINESE


@pytest.mark.slow  # loads the real mE5 model
def test_me5_counts_its_own_tokens():
    embedder = E5SmallEmbeddings(threads=1)
    embedder.max_query_tokens = 128
    kept = embedder.query_text(LONG_CHINESE)
    assert 120 <= embedder.count_tokens(kept) <= 128 < embedder.count_tokens(kept + LONG_CHINESE[len(kept)])
