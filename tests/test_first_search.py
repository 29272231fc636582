"""The first exact search of a fresh mask, on its short path: the keeper notes a first sighting
without a lock and without asking whether a copy would fit (asked at the next search), a cached
mask's ends noted when it was made bound its rows, FAISS is called through its compiled functions;
the answers stay those of a search over a writable copy (ids, order, ties by position, scores to
the bit)."""

from __future__ import annotations

import numpy as np
import pytest

from sepadan.matching import index as index_module
from sepadan.matching.gathered import GatheredRows
from sepadan.matching.index import ExactIndex, exact_search
from sepadan.matching.masks import Allowed, MaskCache, ascending

DIM = 8


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    vectors = np.random.default_rng(21).standard_normal((400, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[[30, 90, 250, 399]] = vectors[12]  # five equal rows: ties inside the k best
    return vectors


@pytest.fixture(autouse=True)
def copies_made_in_the_search(monkeypatch):
    monkeypatch.setattr(GatheredRows, "BACKGROUND", False)


def frozen(a) -> np.ndarray:
    a = np.array(a, dtype=np.int64)
    a.setflags(write=False)
    return a


def test_a_first_search_of_a_cached_mask_orders_equal_scores_by_position(rows):
    """FAISS hands equal scores back highest position first; the search puts them in position
    order, the first search of a mask as every later one (in place, copy made, over the copy)."""
    held = MaskCache(len(rows), lambda key: np.ones(len(rows), bool)).get(0)
    index = ExactIndex(rows)
    for search in range(3):
        scores, ids = index.search(rows[12], 5, allowed=held.rows)
        assert ids[0].tolist() == [12, 30, 90, 250, 399] and (scores[0] == scores[0, 0]).all()
        assert len(index.gathered) == (search > 0)


def test_the_keeper_notes_a_first_sighting_once_and_copies_at_the_second(rows):
    keeper = GatheredRows()
    allowed = frozen(np.arange(0, 400, 3))
    assert keeper.searched(allowed, rows) is None and len(keeper) == 0 and len(keeper._seen) == 1
    copy = keeper.searched(allowed, rows)
    assert copy is not None and (copy.matrix == rows[allowed]).all()
    assert keeper.searched(allowed, rows) is copy and keeper.lookup(allowed, rows) is copy


def test_a_writable_array_is_never_noted_nor_copied(rows):
    keeper = GatheredRows()
    writable = np.arange(0, 400, 3)
    for _ in range(3):
        assert keeper.searched(writable, rows) is None
    assert len(keeper._seen) == 0 and len(keeper) == 0


def test_an_array_made_writable_after_its_first_search_is_not_copied(rows):
    keeper = GatheredRows()
    allowed = np.arange(0, 400, 3)  # owns its data: it may be made writable again
    allowed.setflags(write=False)
    keeper.searched(allowed, rows)
    allowed.setflags(write=True)
    assert keeper.searched(allowed, rows) is None and len(keeper) == 0


def test_a_first_sighting_too_big_to_copy_is_noted_but_never_copied(rows):
    keeper = GatheredRows(max_bytes=10 * (DIM * 4 + 8))
    allowed = frozen(np.arange(0, 400, 3))  # 134 rows: over the budget of 10
    for _ in range(3):
        assert keeper.searched(allowed, rows) is None
    assert len(keeper) == 0 and keeper.held_bytes == 0


def test_a_cached_masks_ends_are_noted_when_it_is_made():
    mask = np.zeros(50, bool)
    mask[[4, 17, 33]] = True
    held = Allowed.of(mask)
    known = ascending(held.rows)
    assert known is not None and (known.first, known.last) == (4, 33)
    empty = ascending(Allowed.of(np.zeros(50, bool)).rows)
    assert (empty.first, empty.last) == (0, -1)
    assert ascending(held.rows.copy()) is None


def test_rows_past_the_noted_ends_are_refused_and_an_empty_mask_finds_nothing(rows):
    index = ExactIndex(rows)
    past = Allowed(np.zeros(1, np.uint8), np.array([3, len(rows)], dtype=np.int32), len(rows)).rows
    with pytest.raises(ValueError, match="allowed rows"):
        index.search(rows[0], 2, allowed=past)
    empty = Allowed.of(np.zeros(len(rows), bool)).rows
    scores, ids = index.search(rows[0], 3, allowed=empty)
    assert (ids == -1).all() and np.isneginf(scores).all()


def test_the_compiled_kernel_answers_as_faiss_own_wrapper(rows):
    import faiss

    queries = np.ascontiguousarray(rows[:3])
    subset = np.arange(1, 400, 2, dtype=np.int64)
    scores, ids = index_module._knn_by_idx(queries, rows, subset, 4)
    want_s, want_i = np.empty((3, 4), np.float32), np.empty((3, 4), np.int64)
    faiss.knn_inner_products_by_idx(faiss.swig_ptr(queries), faiss.swig_ptr(rows), faiss.swig_ptr(subset), DIM, 3,
                                    len(rows), len(subset), 4, faiss.swig_ptr(want_s), faiss.swig_ptr(want_i), 0)
    assert (ids == want_i).all() and (scores.view(np.int32) == want_s.view(np.int32)).all()


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_a_first_search_answers_as_a_writable_copy_does(dtype, rows):
    queries = np.vstack([rows[12], rows[7], -rows[3]])
    mask = np.random.default_rng(3).random(len(rows)) < 0.3
    mask[[12, 30, 90]] = True
    held = Allowed(np.packbits(mask, bitorder="little"), np.flatnonzero(mask).astype(dtype), len(rows))
    truth = exact_search(rows, queries, 6, np.flatnonzero(mask))  # writable int64: checked whole, in place
    scores, ids = exact_search(rows, queries, 6, held.rows, gathered=GatheredRows())
    assert ids.dtype == np.int64 and (ids == truth[1]).all()
    assert (scores.view(np.int32) == truth[0].view(np.int32)).all()


def test_a_cached_masks_first_search_leaves_the_keeper_alone_and_its_second_earns_the_copy(rows):
    """The mask's own record says it was searched; the keeper hears of it from the second search
    on, counting that one as the second (a writable copy of the rows: the keeper never sees it)."""
    held = MaskCache(len(rows), lambda key: np.arange(len(rows)) % 4 == key).get(1)
    index = ExactIndex(rows)
    truth = exact_search(rows, rows[:3], 5, held.rows.astype(np.int64))
    answers = [index.search(rows[:3], 5, allowed=held.rows)]
    assert ascending(held.rows).searched and len(index.gathered._seen) == 0 and len(index.gathered) == 0
    answers.append(index.search(rows[:3], 5, allowed=held.rows))
    assert len(index.gathered) == 1
    answers.append(index.search(rows[:3], 5, allowed=held.rows))  # over the copy
    assert index.gathered.lookup(held.rows, index.vectors) is not None
    for scores, ids in answers:
        assert (ids == truth[1]).all() and (scores.view(np.int32) == truth[0].view(np.int32)).all()
