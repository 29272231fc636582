"""Filtered search: the exact subset search in one FAISS call per batch, ties in position order,
the planner's two thresholds, the IVF probes that grow as the allowed share falls, and the rows of
every FAISS kind mapped from disk when asked (tests/test_index_pages.py: read into huge pages by default)."""

from __future__ import annotations

import numpy as np
import pytest

from sepadan.matching.index import PLAN, FaissIndex, build_index, exact_search, ivf_lists, ivf_probes
from sepadan.matching.persist import load_index, save_index

DIM = 16


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return unit(np.random.default_rng(4).standard_normal((3000, DIM)))


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return unit(np.random.default_rng(5).standard_normal((12, DIM)))


def brute(vectors: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray) -> list[int]:
    scores = vectors[allowed] @ query
    order = np.lexsort((allowed, -scores))[:k]
    return allowed[order].tolist()


def test_a_batch_of_queries_over_a_subset_equals_brute_force_for_each(rows, queries):
    allowed = np.sort(np.random.default_rng(1).choice(len(rows), 250, replace=False))
    scores, ids = exact_search(rows, queries, 10, allowed)
    for q, got in zip(queries, ids, strict=True):
        assert got.tolist() == brute(rows, q, 10, allowed)
    assert np.allclose(scores, np.take_along_axis(queries @ rows.T, ids, axis=1), atol=1e-5)


def test_equal_scores_inside_the_k_come_in_position_order():
    base = unit(np.random.default_rng(2).standard_normal((40, DIM)))
    vectors = base.copy()
    vectors[[31, 7, 19]] = vectors[3]  # four equal rows
    allowed = np.arange(40, dtype=np.int64)[::-1].copy()  # scanned from the highest position
    _, ids = exact_search(vectors, vectors[3], 4, allowed)
    assert ids[0].tolist() == [3, 7, 19, 31]


def test_a_subset_smaller_than_k_is_padded(rows, queries):
    allowed = np.array([5, 17, 900], dtype=np.int64)
    scores, ids = exact_search(rows, queries[:3], 6, allowed)
    assert (np.sort(ids[:, :3], axis=1) == allowed).all()
    assert (ids[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()


def test_an_allowed_row_outside_the_index_is_refused(rows, queries):
    with pytest.raises(ValueError, match="allowed rows"):
        exact_search(rows, queries, 5, np.array([1, len(rows)], dtype=np.int64))


@pytest.mark.parametrize(("n_allowed", "exact"), [(100, True), (149, True), (150, False), (3000, False)])
def test_the_planner_goes_exact_under_the_share(rows, n_allowed, exact):
    index = build_index(rows, kind="flat", exact_filter_max=0, exact_filter_share=0.05)
    assert index._plan_exact(n_allowed) is exact


def test_the_planner_goes_exact_at_or_under_the_row_count(rows):
    index = build_index(rows, kind="flat", exact_filter_max=500, exact_filter_share=0.0)
    assert index._plan_exact(500) and not index._plan_exact(501)


class CountingIndex(FaissIndex):
    """A flat index that records which path each search took."""

    exact_calls = 0

    def _ann(self, *args, **kwargs):
        type(self).exact_calls -= 1000  # an ANN call: never expected on the exact side
        return super()._ann(*args, **kwargs)


def test_a_planned_exact_search_never_reaches_faiss_search(rows, queries):
    built = build_index(rows, kind="flat", exact_filter_max=0, exact_filter_share=0.5)
    index = CountingIndex(built.index, built.vectors, kind="flat", exact_filter_max=0, exact_filter_share=0.5)
    allowed = np.arange(0, 3000, 3, dtype=np.int64)
    _, ids = index.search(queries, 5, allowed=allowed)
    assert CountingIndex.exact_calls == 0
    assert ids[0].tolist() == brute(rows, queries[0], 5, allowed)


def test_ivf_probes_grow_as_the_allowed_share_falls():
    assert ivf_probes(16, 1.0, 2000) == 16
    assert ivf_probes(16, 0.25, 2000) == 32
    assert ivf_probes(16, 0.01, 2000) == 64  # at most 4x
    assert ivf_probes(16, 0.01, 40) == 40  # never more lists than there are
    assert [ivf_probes(8, s, 1000) for s in (1.0, 0.5, 0.1, 0.05)] == sorted(
        ivf_probes(8, s, 1000) for s in (1.0, 0.5, 0.1, 0.05))


def test_ivf_lists_follow_the_size():
    assert ivf_lists(1_000_000) == 2000 and ivf_lists(100_000) == 632 and ivf_lists(20) == 1


@pytest.mark.parametrize("kind", ["hnsw_sq8", "ivf", "ivf_sq8"])
def test_every_faiss_kind_maps_its_rows_from_disk_when_asked(kind, rows, queries, tmp_path):
    index = build_index(rows, kind=kind, exact_filter_max=0)
    save_index(tmp_path / "w", index, [str(i) for i in range(len(rows))], side="workers", model="m",
               fingerprint="f")
    loaded, _, _ = load_index(tmp_path / "w", model="m", exact_filter_max=0, rows="mapped")
    assert isinstance(loaded.vectors, np.memmap)
    allowed = np.arange(0, 3000, 2, dtype=np.int64)
    assert (loaded.search(queries, 5, allowed=allowed)[1] == index.search(queries, 5, allowed=allowed)[1]).all()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "hnsw_sq8", "ivf", "ivf_sq8"])
def test_each_kind_plans_by_its_measured_switch_points_unless_told(kind, rows):
    index = build_index(rows, kind=kind)
    assert (index.exact_filter_max, index.exact_filter_share) == PLAN[kind]
    told = build_index(rows, kind=kind, exact_filter_max=7, exact_filter_share=0.2)
    assert (told.exact_filter_max, told.exact_filter_share) == (7, 0.2)


def test_loading_keeps_the_search_settings_given(rows, tmp_path):
    save_index(tmp_path / "w", build_index(rows, kind="ivf_sq8"), [str(i) for i in range(len(rows))],
               side="workers", model="m", fingerprint="f")
    loaded, _, _ = load_index(tmp_path / "w", model="m", exact_filter_max=5, exact_filter_share=0.3, nprobe=9)
    assert (loaded.exact_filter_max, loaded.exact_filter_share, loaded.nprobe) == (5, 0.3, 9)
    default, _, _ = load_index(tmp_path / "w", model="m")
    assert (default.exact_filter_max, default.exact_filter_share) == PLAN["ivf_sq8"]


@pytest.mark.parametrize("coarse", [False, True])
def test_a_large_in_place_search_split_over_two_threads_keeps_the_single_scans_rows(coarse, monkeypatch):
    """From SPLIT_ROWS rows the in-place scan runs in two halves on two threads; the merged k best
    are the rows one scan keeps, scores to the bit. With many equal scores (coarse rows) a query
    whose k-th ties is scanned once, so the answer is still the single scan's."""
    from sepadan.matching import index as module

    rng = np.random.default_rng(21)
    vectors = rng.standard_normal((4000, 8)).astype(np.float32)
    queries = rng.standard_normal((3, 8)).astype(np.float32)
    if coarse:
        vectors, queries = np.round(vectors), np.round(queries)
    rows = rng.permutation(rng.choice(4000, 2500, replace=False)).astype(np.int64)
    single = exact_search(vectors, queries, 20, rows)
    monkeypatch.setattr(module, "SPLIT_ROWS", 200)
    monkeypatch.setattr(module, "_threads", lambda: 2)
    calls = []
    real = module._knn_by_idx
    monkeypatch.setattr(module, "_knn_by_idx", lambda *a: calls.append(len(a[2])) or real(*a))
    split = exact_search(vectors, queries, 20, rows)
    assert calls[:2] == [1250, 1250] and calls[2:] == ([2500] if coarse else [])
    assert np.array_equal(split[1], single[1]) and np.array_equal(split[0], single[0])


def _split_search_in_child(vectors: np.ndarray, rows: np.ndarray) -> None:
    from sepadan.matching import index as module

    module.SPLIT_ROWS, module._threads = 200, lambda: 2
    exact_search(vectors, vectors[:2], 5, rows)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork here")
def test_a_forked_child_splits_a_search_on_threads_of_its_own(monkeypatch):
    """The parent's split threads do not exist in a forked child: the child starts its own
    (with the parent's pool it waited for ever)."""
    import multiprocessing

    from sepadan.matching import index as module

    monkeypatch.setattr(module, "SPLIT_ROWS", 200)
    monkeypatch.setattr(module, "_threads", lambda: 2)
    vectors = np.random.default_rng(0).standard_normal((4000, 8)).astype(np.float32)
    rows = np.arange(4000, dtype=np.int64)
    exact_search(vectors, vectors[:2], 5, rows)  # the parent's pool started
    child = multiprocessing.get_context("fork").Process(target=_split_search_in_child, args=(vectors, rows))
    child.start()
    child.join(20)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
