"""Contiguous copies of repeatedly searched subsets: the same answers as the search in place
(ids, order, ties by position, scores to the bit), made at the second search of a read-only rows
array and never for a writable one, bounded by bytes (least recently used dropped), and gone when
their mask is; made on a background thread by default, the search that earns one going on in place."""

from __future__ import annotations

import gc
import mmap

import numpy as np
import pytest

from sepadan.matching.gathered import GatheredRows
from sepadan.matching.index import ExactIndex, build_index, exact_search
from sepadan.matching.masks import Allowed, MaskCache

DIM = 16


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    vectors = unit(np.random.default_rng(4).standard_normal((3000, DIM)))
    vectors[[40, 900, 2500]] = vectors[7]  # equal rows: ties across the subset
    return vectors


@pytest.fixture(scope="module")
def queries(rows: np.ndarray) -> np.ndarray:
    return np.vstack([rows[7], unit(np.random.default_rng(5).standard_normal((11, DIM)))])


@pytest.fixture(autouse=True)
def copies_made_in_the_search(monkeypatch):
    """These tests count copies right after the search that earns one: made in it, not on the
    copier's thread (the background tests below turn it back on)."""
    monkeypatch.setattr(GatheredRows, "BACKGROUND", False)


def frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.int64)
    a.setflags(write=False)
    return a


SUBSETS = {
    "ascending": lambda n, rng: np.sort(rng.choice(n, 400, replace=False)),
    "descending": lambda n, rng: np.sort(rng.choice(n, 400, replace=False))[::-1],
    "with the equal rows": lambda n, rng: np.array([2500, 7, 900, 40, 3, 11]),
    "fewer than k": lambda n, rng: np.array([5, 17, 900]),
}


@pytest.mark.parametrize("kind", ["exact", "flat"])
@pytest.mark.parametrize("subset", list(SUBSETS))
def test_a_held_copy_answers_exactly_as_the_search_in_place(kind, subset, rows, queries):
    index = build_index(rows, kind=kind, exact_filter_max=10_000)
    allowed = frozen(SUBSETS[subset](len(rows), np.random.default_rng(1)))
    truth = exact_search(rows, queries, 8, allowed.copy())  # a writable copy: in place, every time
    answers = [index.search(queries, 8, allowed=allowed) for _ in range(3)]  # in place, copied, copy
    assert len(index.gathered) == 1
    answers.append(tuple(np.vstack(part) for part in zip(*(index.search(q, 8, allowed=allowed) for q in queries))))
    for scores, ids in answers:
        assert (ids == truth[1]).all() and (scores.view(np.int32) == truth[0].view(np.int32)).all()


def test_equal_scores_keep_position_order_through_the_copy(rows):
    index = ExactIndex(rows)
    allowed = frozen(np.arange(3000)[::-1])  # scanned from the highest position
    for _ in range(3):
        _, ids = index.search(rows[7], 4, allowed=allowed)
        assert ids[0].tolist() == [7, 40, 900, 2500]
    assert len(index.gathered) == 1


@pytest.mark.parametrize("order", [1, -1])
def test_a_tie_at_the_kth_place_keeps_the_row_scanned_first_as_in_place(order, rows):
    index = ExactIndex(rows)
    allowed = frozen(np.arange(3000)[::order])
    truth = exact_search(rows, rows[7], 2, allowed.copy())[1][0].tolist()
    assert truth == ([7, 40] if order == 1 else [900, 2500])
    for _ in range(3):
        assert index.search(rows[7], 2, allowed=allowed)[1][0].tolist() == truth


def test_the_copy_is_made_at_the_second_search_and_never_for_a_writable_array(rows, queries):
    index = ExactIndex(rows)
    writable = np.arange(0, 3000, 3, dtype=np.int64)
    for _ in range(3):
        index.search(queries, 5, allowed=writable)
    assert len(index.gathered) == 0
    allowed = frozen(writable)
    index.search(queries, 5, allowed=allowed)
    assert len(index.gathered) == 0
    index.search(queries, 5, allowed=allowed)
    assert len(index.gathered) == 1 and index.gathered.held_bytes == 1000 * (DIM * 4 + 8)
    index.search(queries, 5, allowed=frozen(writable))  # equal rows, another array: not that copy
    assert len(index.gathered) == 1


def test_copies_stay_within_the_budget_least_recently_used_dropped_first(rows, queries):
    entry = 500 * (DIM * 4 + 8)
    index = ExactIndex(rows, gather_max_bytes=2 * entry)
    masks = [frozen(np.arange(i, 3000, 6)) for i in range(3)]  # 500 rows each
    for m in masks[:2]:
        index.search(queries, 5, allowed=m)
        index.search(queries, 5, allowed=m)
    index.search(queries, 5, allowed=masks[0])  # masks[0] now the most recently used
    index.search(queries, 5, allowed=masks[2])
    index.search(queries, 5, allowed=masks[2])
    held = index.gathered
    assert len(held) == 2 and held.held_bytes <= held.max_bytes
    assert held.lookup(masks[1], index.vectors) is None
    assert held.lookup(masks[0], index.vectors) is not None and held.lookup(masks[2], index.vectors) is not None


def test_a_subset_over_the_entry_bound_or_a_zero_budget_is_searched_in_place(rows, queries):
    big = frozen(np.arange(0, 3000, 2))  # 1,500 rows
    for index in (ExactIndex(rows, gather_max_bytes=1000 * (DIM * 4 + 8)), ExactIndex(rows, gather_max_bytes=0)):
        for _ in range(3):
            _, ids = index.search(queries, 5, allowed=big)
        assert len(index.gathered) == 0
        assert (ids == exact_search(rows, queries, 5, big.copy())[1]).all()


def test_a_copy_goes_when_its_mask_does(rows, queries):
    index = ExactIndex(rows)
    allowed = frozen(np.arange(0, 3000, 4))
    index.search(queries, 5, allowed=allowed)
    index.search(queries, 5, allowed=allowed)
    assert index.gathered.held_bytes > 0
    del allowed
    gc.collect()
    index.search(queries, 5, allowed=frozen(np.arange(10)))  # any later search drops the dead copy
    assert len(index.gathered) == 0 and index.gathered.held_bytes == 0


def test_rows_outside_the_index_are_refused_before_any_copy(rows, queries):
    index = ExactIndex(rows)
    bad = frozen([1, len(rows)])
    for _ in range(2):
        with pytest.raises(ValueError, match="allowed rows"):
            index.search(queries, 2, allowed=bad)
    assert len(index.gathered) == 0


def test_a_cached_eligibility_mask_is_read_only_and_copied_on_its_second_search(rows, queries):
    masks = MaskCache(len(rows), lambda key: np.arange(len(rows)) % 5 == key)
    held = masks.get(2)
    assert not held.rows.flags.writeable
    assert not Allowed(held.bits, np.arange(3, dtype=np.int64), 3).rows.flags.writeable
    index = build_index(rows, kind="flat")
    for _ in range(2):
        _, ids = index.search(queries, 5, allowed=masks.get(2).rows, bitmap=masks.get(2).bits)
    assert len(index.gathered) == 1 and (ids % 5 == 2).all()


@pytest.mark.parametrize("kind", ["exact", "flat"])
def test_int32_rows_answer_as_int64_ones_and_keep_their_copy(kind, rows, queries):
    """A cached mask's rows are int32 (half the bytes): searched in place, copied at the second
    search and found again by identity, with the same int64 positions and scores as int64 rows."""
    held = MaskCache(len(rows), lambda key: np.arange(len(rows)) % 7 == key).get(3)
    assert held.rows.dtype == np.int32
    truth = exact_search(rows, queries, 9, held.rows.astype(np.int64))  # writable int64: in place
    index = build_index(rows, kind=kind, exact_filter_max=10_000)
    for search in range(3):  # in place, copy made, copy found
        scores, ids = index.search(queries, 9, allowed=held.rows, bitmap=held.bits)
        assert ids.dtype == np.int64 and (ids == truth[1]).all()
        assert (scores.view(np.int32) == truth[0].view(np.int32)).all()
        assert len(index.gathered) == (search > 0)
    assert index.gathered.lookup(held.rows, index.vectors) is not None


def test_the_sighting_memory_is_bounded():
    gathered = GatheredRows(remembered=3)
    vectors = np.zeros((10, DIM), dtype=np.float32)
    arrays = [frozen([i]) for i in range(5)]
    for a in arrays:
        assert gathered.offer(a, vectors) is None
    assert gathered.offer(arrays[0], vectors) is None  # forgotten: a first sighting again
    assert gathered.offer(arrays[4], vectors) is not None


def test_a_mask_whose_copy_was_dropped_for_room_must_be_searched_twice_as_often_again(rows, queries):
    entry = 500 * (DIM * 4 + 8)
    index = ExactIndex(rows, gather_max_bytes=2 * entry)
    held = index.gathered
    masks = [frozen(np.arange(i, 3000, 6)) for i in range(3)]
    for m in masks:  # each copied at its second search; the third pushes out the first
        index.search(queries, 5, allowed=m)
        index.search(queries, 5, allowed=m)
    assert held.lookup(masks[0], index.vectors) is None
    for _ in range(3):
        _, ids = index.search(queries, 5, allowed=masks[0])
        assert held.lookup(masks[0], index.vectors) is None
    assert (ids == exact_search(rows, queries, 5, masks[0].copy())[1]).all()
    index.search(queries, 5, allowed=masks[0])  # the fourth search: copied again
    assert held.lookup(masks[0], index.vectors) is not None and held.held_bytes <= held.max_bytes


def test_an_index_pickles_without_its_copies(rows, queries):
    import pickle

    index = ExactIndex(rows, gather_max_bytes=10**6)
    allowed = frozen(np.arange(0, 3000, 7))
    for _ in range(2):
        index.search(queries, 5, allowed=allowed)
    again = pickle.loads(pickle.dumps(index))
    assert len(again.gathered) == 0 and again.gathered.max_bytes == 10**6
    assert (again.search(queries, 5, allowed=allowed)[1] == index.search(queries, 5, allowed=allowed)[1]).all()


def test_a_copy_lives_in_a_mapping_of_its_own():
    """Copies are made into anonymous mappings of their own, unmapped when they go (made by
    malloc, a copy came from its heap, whose freed bytes a process keeps)."""
    from sepadan.matching.gathered import _gather

    vectors = np.random.default_rng(9).standard_normal((4000, 256)).astype(np.float32)
    rows = frozen(np.arange(0, 4000, 2))
    copy = _gather(vectors, rows)
    assert copy.flags.c_contiguous and copy.dtype == np.float32 and (copy == vectors[rows]).all()
    owner = copy
    while isinstance(owner, (np.ndarray, memoryview)):
        owner = owner.base if isinstance(owner, np.ndarray) else owner.obj
    assert isinstance(owner, mmap.mmap)
    assert _gather(vectors, frozen([])).shape == (0, 256)


def test_the_copies_of_a_small_matrix_never_hold_more_than_one_copy_of_it(rows: np.ndarray) -> None:
    keeper = GatheredRows()  # the default budget (64 MiB) is far above this 3,000 x 16 matrix
    whole = len(rows) * (DIM * 4 + 8)
    masks = [frozen(np.arange(900 * i, 900 * i + 1200)) for i in range(3)]  # 40% of the rows each
    for mask in masks * 2:  # a copy of each at its second search
        keeper.lookup(mask, rows) or keeper.offer(mask, rows)
    assert keeper.budget(rows) == whole
    assert 0 < keeper.held_bytes <= whole
    assert len(keeper) == 2  # three would be 1.2 copies of the whole: the oldest dropped


@pytest.mark.parametrize("kind", ["exact", "flat"])
def test_a_copy_made_in_the_background_answers_the_same_and_is_made_once(kind, rows, queries, monkeypatch):
    """The search that earns a copy runs in place while the copier's thread makes it; later
    searches find it once it is made; a search while it is under way asks for no second copy."""
    monkeypatch.setattr(GatheredRows, "BACKGROUND", True)
    index = build_index(rows, kind=kind, exact_filter_max=10_000)
    assert index.gathered.background
    allowed = frozen(np.arange(1, 3000, 3))
    truth = exact_search(rows, queries, 6, allowed.copy())
    gate = __import__("threading").Event()
    made = []
    real = GatheredRows._copy

    def slow_copy(self, *args):
        gate.wait(5)
        made.append(args[0])
        return real(self, *args)

    monkeypatch.setattr(GatheredRows, "_copy", slow_copy)
    answers = [index.search(queries, 6, allowed=allowed) for _ in range(4)]  # 2nd earns it; 3rd, 4th: under way
    assert len(index.gathered) == 0 and len(index.gathered._pending) == 1
    gate.set()
    index.gathered.settle()
    assert made == [id(allowed)] and len(index.gathered) == 1 and not index.gathered._pending
    assert index.gathered.lookup(allowed, index.vectors) is not None
    answers.append(index.search(queries, 6, allowed=allowed))  # over the copy
    for scores, ids in answers:
        assert (ids == truth[1]).all() and (scores.view(np.int32) == truth[0].view(np.int32)).all()


def test_a_background_copy_is_kept_within_the_budget_and_goes_with_its_mask(rows, queries, monkeypatch):
    monkeypatch.setattr(GatheredRows, "BACKGROUND", True)
    entry = 500 * (DIM * 4 + 8)
    index = ExactIndex(rows, gather_max_bytes=2 * entry)
    masks = [frozen(np.arange(i, 3000, 6)) for i in range(3)]
    for m in masks:
        index.search(queries, 5, allowed=m)
        index.search(queries, 5, allowed=m)
        index.gathered.settle()
    assert len(index.gathered) == 2 and index.gathered.held_bytes == 2 * entry
    del masks[1:], m  # the loop variable held the last one
    gc.collect()
    index.search(queries, 5, allowed=frozen(np.arange(10)))
    assert index.gathered.held_bytes == 0


def test_a_cached_masks_rows_are_known_ascending_and_their_ends_still_bound_them(rows, queries):
    """A cached mask's rows rise strictly, so a search checks their two ends only; rows that do not
    rise, or that can be written again, are checked whole; rows past either end are refused."""
    from sepadan.matching.masks import known_ascending

    held = MaskCache(len(rows), lambda key: np.arange(len(rows)) % 3 == key).get(1)
    assert known_ascending(held.rows)
    assert not known_ascending(held.rows.copy())
    assert not known_ascending(Allowed(held.bits, np.array([5, 3, 9]), len(rows)).rows)
    index = ExactIndex(rows)
    assert (index.search(queries, 4, allowed=held.rows)[1] == exact_search(rows, queries, 4, held.rows.copy())[1]).all()
    for bad in ([-1, 4, 9], [2, 4, len(rows)]):
        past = Allowed(held.bits, np.array(bad, dtype=np.int32), len(rows)).rows
        assert known_ascending(past)
        with pytest.raises(ValueError, match="allowed rows"):
            index.search(queries, 2, allowed=past)
