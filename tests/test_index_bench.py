"""The index benchmark's own parts: the varied set cached as .npy (built once, read back the same),
recall by ids with ties apart, and the serving-memory reading of a persisted index."""

from __future__ import annotations

import numpy as np

from sepadan.evaluation.speed_index import VariedSet, _recall, cached_varied, serving_memory
from sepadan.matching.index import build_index


def test_the_varied_set_is_built_once_and_read_back_the_same(tmp_path):
    rng = np.random.default_rng(1)
    made = VariedSet(rng.standard_normal((30, 8)).astype(np.float32), rng.standard_normal((4, 8)).astype(np.float32),
                     12, 30, [f"worker {i}; skill" for i in range(30)], ["query a", "query b", "c", "d"])
    calls = []

    def build() -> VariedSet:
        calls.append(1)
        return made

    first = cached_varied(tmp_path, 30, build)
    again = cached_varied(tmp_path, 30, build)
    assert len(calls) == 1 and first is made
    assert (again.vectors == made.vectors).all() and (again.queries == made.queries).all()
    assert again.texts == made.texts and again.query_texts == made.query_texts
    assert (again.distinct_phrases, again.distinct_vectors) == (12, 30)


def test_recall_counts_ids_and_reports_ties_apart():
    truth_s = np.array([[0.9, 0.8, 0.7]], dtype=np.float32)
    truth_i = np.array([[1, 2, 3]])
    # id 3 missed for an equally scored id 9: recall 2/3, and the one missed id is tied with the k-th
    rec, ties = _recall(np.array([[0.9, 0.8, 0.7]], dtype=np.float32), np.array([[1, 2, 9]]), truth_s, truth_i)
    assert abs(rec - 2 / 3) < 1e-9 and ties == 1.0
    rec, ties = _recall(truth_s, np.array([[1, 7, 8]]), truth_s, truth_i)  # id 2 is not tied
    assert abs(rec - 1 / 3) < 1e-9 and ties == 0.5


def test_serving_memory_reads_a_fresh_process_for_each_index(tmp_path):
    rows = np.random.default_rng(3).standard_normal((400, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    built = {"ivf-sq8": build_index(rows, kind="ivf_sq8")}
    got = serving_memory(built, tmp_path, rows[:5], shares=(0.1, 1.0))
    assert [r["index"] for r in got] == ["ivf-sq8"]
    r = got[0]
    assert 0 < r["rss_gb_empty_process"] <= r["rss_gb_after_load"] <= r["peak_gb"]
    assert abs(r["anon_gb_after_queries"] + r["file_gb_after_queries"] - r["rss_gb_after_queries"]) < 0.01


def test_the_selectivity_table_times_a_fresh_mask_apart_and_keeps_exact_recall_whole():
    from sepadan.evaluation.speed_index import selectivity_table

    rows = np.random.default_rng(5).standard_normal((2000, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    built = {"exact": build_index(rows, kind="exact"), "flat": build_index(rows, kind="flat")}
    got = selectivity_table(built, rows, rows[:6] + 0.01, shares=(0.05, 1.0), max_queries=6)
    assert [(r["index"], r["allowed_rows"]) for r in got] == [("exact", 100), ("flat", 100), ("exact", 2000),
                                                              ("flat", 2000)]
    assert all(r["recall@10 (ids)"] == 1.0 and r["empty results"] == 0 for r in got)
    assert all(r["first query on a mask ms"] > 0 and r["second query ms"] > 0 for r in got)
    assert got[0]["plan"] == "exact index" and got[1]["plan"] == "exact (planned)"
    whole = got[2]
    assert whole["first query on a mask ms"] == whole["second query ms"] == whole["ms/query"]
