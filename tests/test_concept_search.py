"""Concept (lexical) retrieval: the roaring-bitmap filter gives the plain reference's answer exactly,
ties broken by position, with and without allowed rows."""

from __future__ import annotations

import numpy as np
import pytest

from sepadan.matching.retrieve import ConceptIndex


def _reference(sets: list[set[str]], query: dict[str, float], k: int, allowed: set[int] | None,
               ci: ConceptIndex) -> list[int]:
    scores: dict[int, float] = {}
    for key, weight in query.items():  # summed in the query's order, as the index sums
        gain = weight * ci.idf(key)
        for pos, held in enumerate(sets):
            if key in held and (allowed is None or pos in allowed):
                scores[pos] = scores.get(pos, 0.0) + gain
    ranked = sorted((p for p, s in scores.items() if s > 0), key=lambda p: (-scores[p], p))
    return ranked[:k]


@pytest.mark.parametrize("seed", range(6))
def test_search_equals_the_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, vocab = int(rng.integers(50, 3000)), int(rng.integers(3, 40))
    sets = [{f"c{c}" for c in rng.integers(0, vocab, size=rng.integers(0, 6))} for _ in range(n)]
    ci = ConceptIndex(sets)
    for trial in range(15):
        query = {f"c{c}": float(rng.choice([1.0, 0.5])) for c in rng.integers(0, vocab + 3, size=rng.integers(1, 8))}
        k = int(rng.integers(1, 250))
        share = [None, 0.5, 0.08, 0.001][trial % 4]
        if share is None:
            allowed = None
        else:
            allowed = np.flatnonzero(rng.random(n) < share).astype(np.int64)
        bits = None if allowed is None else np.packbits(np.isin(np.arange(n), allowed), bitorder="little")
        want = _reference(sets, query, k, None if allowed is None else set(allowed.tolist()), ci)
        assert ci.search(query, k, allowed=allowed, bits=bits) == want
        if allowed is not None:
            assert ci.search(query, k, allowed=allowed) == want


def test_empty_allowed_and_unknown_concepts() -> None:
    ci = ConceptIndex([{"a"}, {"a", "b"}, set()])
    assert ci.search({"a": 1.0}, 5, allowed=np.array([], dtype=np.int64)) == []
    assert ci.search({"zzz": 1.0}, 5) == []
    assert ci.search({"a": 1.0, "b": 1.0}, 5) == [1, 0]
