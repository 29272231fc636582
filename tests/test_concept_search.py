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


@pytest.mark.parametrize("seed", range(8))
def test_best_subsets_equal_the_summed_reference_over_many_concepts(seed: int, monkeypatch) -> None:
    """The branch and bound over subsets (many query concepts, equal gains, so ties across
    subsets and inside them) against summing every posting, the filter given as rows and as bits."""
    from sepadan.matching import retrieve

    monkeypatch.setattr(retrieve, "_FROM_BITS", 0)  # small pools read the filter from the bits too
    monkeypatch.setattr(retrieve, "_MOST_TERMS", 10**6)  # the branch and bound every time, not summing
    monkeypatch.setattr(retrieve, "_MOST_NODES", 10**9)
    rng = np.random.default_rng(100 + seed)
    n, vocab = int(rng.integers(200, 5000)), int(rng.integers(4, 18))
    common = rng.random(vocab) ** 3  # a few concepts most rows hold, many rare ones
    sets = [{f"c{c}" for c in np.flatnonzero(rng.random(vocab) < common)} for _ in range(n)]
    ci = ConceptIndex(sets)
    for trial in range(12):
        size = int(rng.integers(1, vocab + 2))
        query = {f"c{c}": float(rng.choice([1.0, 0.5])) for c in rng.permutation(vocab + 1)[:size]}
        k = int(rng.integers(1, 300))
        allowed = None if trial % 3 == 0 else np.flatnonzero(rng.random(n) < rng.choice([0.9, 0.3, 0.01]))
        bits = None if allowed is None else np.packbits(np.isin(np.arange(n), allowed), bitorder="little")
        want = ci.summed(query, k, allowed=allowed)
        assert want == _reference(sets, query, k, None if allowed is None else set(allowed.tolist()), ci)
        assert ci.search(query, k, allowed=allowed, bits=bits) == want
        assert ci.search(query, k, allowed=allowed) == want


def _many_terms(n: int = 3000, vocab: int = 40, held: int = 6, seed: int = 7):
    rng = np.random.default_rng(seed)
    sets = [{f"c{c}" for c in rng.choice(vocab, held, replace=False)} for _ in range(n)]
    return sets, ConceptIndex(sets), {f"c{c}": 1.0 for c in range(vocab)}


def test_a_query_of_many_concepts_is_summed_not_branched(monkeypatch) -> None:
    """40 concepts each row holds 6 of: the tree has ~2^41 nodes and few are pruned (9.3 s at 200k
    rows), so a vacancy with many skills or a portal's worker body must not reach it."""
    from sepadan.matching import retrieve

    sets, ci, query = _many_terms()

    def refuse(*args, **kwargs):
        raise AssertionError("branch and bound over 40 terms")

    monkeypatch.setattr(retrieve, "_best_subsets", refuse)
    allowed = np.arange(0, 3000, 2)
    assert ci.search(query, 200, allowed=allowed) == ci.summed(query, 200, allowed=allowed)
    assert ci.search(query, 200) == _reference(sets, query, 200, None, ci)


def test_the_branch_and_bound_gives_up_past_its_node_budget_and_the_search_sums(monkeypatch) -> None:
    from sepadan.matching import retrieve

    sets, ci, query = _many_terms(vocab=12)
    lists = [ci.bitmaps()[key] for key in query]
    gains = [ci.idf(key) for key in query]
    assert retrieve._best_subsets(lists, gains, 200, None, most_nodes=8) is None
    assert retrieve._best_subsets(lists, gains, 200, None, most_nodes=10**9) == ci.summed(query, 200)
    monkeypatch.setattr(retrieve, "_MOST_NODES", 8)
    assert ci.search(query, 200) == ci.summed(query, 200) == _reference(sets, query, 200, None, ci)


def test_a_query_with_a_weight_that_is_not_positive_is_summed() -> None:
    ci = ConceptIndex([{"a"}, {"a", "b"}, {"b"}, set()])
    query = {"a": 1.0, "b": -0.5}
    assert ci.search(query, 5) == ci.summed(query, 5) == _reference([{"a"}, {"a", "b"}, {"b"}, set()], query, 5,
                                                                     None, ci)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 4096, 65535, 65536, 65537, 200_000])
def test_a_roaring_bitmap_from_packed_bits_holds_the_same_rows(n: int) -> None:
    from pyroaring import BitMap

    from sepadan.matching.retrieve import roaring_from_bits

    rng = np.random.default_rng(n)
    cases = [np.zeros(n, dtype=bool), np.ones(n, dtype=bool), rng.random(n) < 0.5, rng.random(n) < 0.01]
    if n > 65536:  # a chunk at the array container's limit and one just past it
        edge = np.zeros(n, dtype=bool)
        edge[rng.choice(65536, 4096, replace=False)] = True
        edge[65536 + rng.choice(min(65536, n - 65536), min(4097, n - 65536), replace=False)] = True
        cases.append(edge)
    for mask in cases:
        bits = np.packbits(mask, bitorder="little")
        rows = np.flatnonzero(mask)
        want = BitMap(rows.tolist())
        assert roaring_from_bits(bits, n) == want
        assert roaring_from_bits(bits, n, rows) == want
    spare = np.full(-(-n // 8), 255, dtype=np.uint8)  # bits past the last row are not rows
    assert roaring_from_bits(spare, n) == BitMap(range(n))


def test_packed_bits_that_disagree_with_the_rows_are_refused() -> None:
    from sepadan.matching.retrieve import roaring_from_bits

    bits = np.packbits(np.array([True, False, True]), bitorder="little")
    with pytest.raises(ValueError, match="rows listed"):
        roaring_from_bits(bits, 3, np.array([0]))
    with pytest.raises(ValueError, match="cannot hold"):
        roaring_from_bits(bits, 9)


def rrf_reference(rankings: list[list[int]], *, k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal rank fusion one item at a time."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[int(item)] = scores.get(int(item), 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@pytest.mark.parametrize("seed", range(5))
def test_rrf_equals_adding_one_item_at_a_time(seed: int) -> None:
    from sepadan.matching.retrieve import rrf

    rng = np.random.default_rng(seed)
    for _ in range(30):
        lists = [rng.permutation(int(rng.integers(1, 600)))[: int(rng.integers(0, 250))].tolist()
                 for _ in range(int(rng.integers(1, 4)))]
        got, want = rrf(lists), rrf_reference(lists)
        assert got == want  # ids, order and the float sums to the bit
        assert all(type(i) is int and type(s) is float for i, s in got)
    assert rrf([[], []]) == [] and rrf([]) == []
