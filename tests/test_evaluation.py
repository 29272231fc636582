"""Benchmark machinery: metrics with hand-computed answers, loaders and the TREC writer, the
ranking-set generator's determinism and grade rules, the baselines' shared interface. No model: a
small bag-of-words encoder stands in for it."""

from __future__ import annotations

import gzip
import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pytest

from sepadan.evaluation import metrics as M
from sepadan.evaluation.baselines import LabelSetRanker, TfidfRanker, top_k
from sepadan.evaluation.datasets import (
    load_jobbert,
    load_kbji_titles,
    load_qrels,
    load_techwolf,
    read_trec_run,
    write_trec_run,
)
from sepadan.evaluation.ranking_set import RankingSetConfig, grade, make_ranking_set
from sepadan.evaluation.results import Result, markdown
from sepadan.features.encoder import CachedEncoder
from sepadan.features.taxonomy import Occupation


class BagOfWords:
    """Deterministic fake encoder: hashed words, L2-normalised; shared words mean high cosine."""

    name, dim = "fake-bow", 64

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


# --- metrics -------------------------------------------------------------------------------------


def test_rp_at_k_divides_by_what_the_top_k_can_hold():
    ranked = ["a", "b", "c", "d", "e"]
    assert M.rp_at_k(ranked, {"a", "c", "x"}, 5) == pytest.approx(2 / 3)
    assert M.rp_at_k(ranked, {"a", "c", "x"}, 2) == pytest.approx(1 / 2)
    assert M.rp_at_k(ranked, {"e"}, 5) == 1.0
    with pytest.raises(ValueError):
        M.rp_at_k(ranked, set(), 5)


def test_reciprocal_rank_hit_and_recall():
    assert M.reciprocal_rank(["x", "y", "a"], {"a", "b"}) == pytest.approx(1 / 3)
    assert M.reciprocal_rank(["x"], {"a"}) == 0.0
    assert M.hit_at_k(["x", "y", "a"], {"a"}, 2) == 0.0
    assert M.hit_at_k(["x", "y", "a"], {"a"}, 3) == 1.0
    assert M.recall_at_k(["a", "x", "b"], {"a", "b", "c", "d"}, 2) == pytest.approx(1 / 4)


def test_ndcg_hand_computed():
    grades = {"d1": 1, "d3": 3, "d4": 2}
    dcg = 1 / math.log2(2) + 0 + 3 / math.log2(4)  # d1, d2 (unjudged), d3
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert M.ndcg_at_k(["d1", "d2", "d3"], grades, 3) == pytest.approx(dcg / ideal)
    assert M.ndcg_at_k(["d1", "d2", "d3"], grades, 3) == pytest.approx(0.525, abs=1e-3)
    assert M.ndcg_at_k(["d3", "d4", "d1"], grades, 3) == pytest.approx(1.0)
    assert M.ndcg_at_k([], grades, 10) == 0.0


def test_evaluate_skips_unjudged_queries_and_scores_missing_runs_as_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 2}, "q3": {"c": 0}}
    run = {"q1": ["a", "z"], "q3": ["c"]}
    scores = M.evaluate(run, qrels, ["MRR", "acc@1", "NDCG@10", "Recall@50"])
    assert scores == {"MRR": 0.5, "acc@1": 0.5, "NDCG@10": 0.5, "Recall@50": 0.5}
    assert set(M.per_query(run, qrels, ["MRR"])) == {"q1", "q2"}


@pytest.mark.parametrize("name", ["RP", "NDCG", "MRR@5", "foo@3", "acc@"])
def test_unknown_metric_names_are_refused(name):
    with pytest.raises(ValueError):
        M.metric(name)


# --- loaders and the TREC writer -----------------------------------------------------------------


def test_techwolf_queries_are_distinct_sentences_in_order(tmp_path):
    path = tmp_path / "tech_validation_annotations.csv"
    path.write_text(
        "sentence,span,sub_span,label\n"
        "java and sql,java,,Java (computer programming)\n"
        "we are nice,nice,,LABEL NOT PRESENT\n"
        "java and sql,sql,,SQL\n"
        '"teamwork, please",teamwork,,work in teams\n',
        encoding="utf-8",
    )
    bench = load_techwolf(path)
    assert bench.queries == (("0", "java and sql"), ("2", "teamwork, please"))
    assert bench.qrels == {
        "0": {"Java (computer programming)": 1, "SQL": 1},
        "2": {"work in teams": 1},
    }


def test_jobbert_and_kbji_loaders(tmp_path, taxonomy):
    jb = tmp_path / "titles.csv"
    jb.write_text(
        ",vacancyTitle,conceptUri\n0,Cook,http://x/1\n1,Nurse,http://x/2\n", encoding="utf-8"
    )
    bench = load_jobbert(jb)
    assert bench.queries == (("0", "Cook"), ("1", "Nurse")) and bench.qrels["1"] == {
        "http://x/2": 1
    }
    assert bench.sample(1, seed=3).ids == bench.sample(1, seed=3).ids
    kbji = tmp_path / "kbji.tsv.gz"
    with gzip.open(kbji, "wt", encoding="utf-8") as handle:
        handle.write(
            "code\tlevel_digits\ttitle\tisco\n0111\t4\tPerwira\t0111\n"
            "0111.01\t6\tPanglima TNI\t0111\n"
            "5322\t4\tPerawat\t5322\n5322.01\t6\tPengasuh Lansia\t5322\n"
        )
    titles = load_kbji_titles(kbji, taxonomy)
    assert titles.queries == (("3", "Pengasuh Lansia"),)  # the armed forces title has no ESCO group
    expected = {u for u, o in taxonomy.occupations.items() if o.isco == "5322"}
    assert set(titles.qrels["3"]) == expected and expected


def test_trec_run_format_and_round_trip(tmp_path):
    run = {
        "V-1": [("W-2", 0.9), ("W-1", 0.5), ("W-3", 0.1)],
        "7": [("tend to elderly people", 1.0)],
    }
    path = write_trec_run(tmp_path / "run.tsv", run, depth=2)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == [
        "V-1\tQ0\tW-2\t1\t0.900000\tsepadan",
        "V-1\tQ0\tW-1\t2\t0.500000\tsepadan",
        "7\tQ0\ttend to elderly people\t1\t1.000000\tsepadan",
    ]
    assert read_trec_run(path)["V-1"] == [("W-2", 0.9), ("W-1", 0.5)]
    with pytest.raises(ValueError):
        write_trec_run(tmp_path / "bad.tsv", {"q": [("a\tb", 1.0)]})


def test_qrels_with_and_without_header(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text("vacancy_id\tworker_id\tgrade\nV-1\tW-1\t3\nV-1\tW-2\t0\n", encoding="utf-8")
    assert load_qrels(path) == {"V-1": {"W-1": 3, "W-2": 0}}
    path.write_text("V-1\tW-1\t3\n", encoding="utf-8")
    assert load_qrels(path) == {"V-1": {"W-1": 3}}


# --- the ranking-set generator -------------------------------------------------------------------


def test_grade_follows_the_isco_hierarchy():
    def occ(uri, isco):
        return Occupation(uri, uri, (), isco, (), ())

    a = occ("a", "5322")
    assert [grade(a, o) for o in (a, occ("b", "5322"), occ("c", "5321"), occ("d", "5311"))] == [
        3,
        2,
        1,
        0,
    ]


def test_ranking_set_is_deterministic_and_graded_by_isco(tmp_path, taxonomy, lexicon):
    config = RankingSetConfig(n_vacancies=6, n_workers=80, seed=7)
    first = make_ranking_set(taxonomy, lexicon, config).write(tmp_path / "a")
    second = make_ranking_set(taxonomy, lexicon, config)
    second_paths = second.write(tmp_path / "b")
    for kind in ("vacancies", "workers", "qrels", "truth"):
        assert first[kind].read_bytes() == second_paths[kind].read_bytes()
    other = make_ranking_set(
        taxonomy, lexicon, RankingSetConfig(n_vacancies=6, n_workers=80, seed=8)
    )
    assert other.workers != second.workers
    qrels, truth = load_qrels(first["qrels"]), second.truth
    for v in second.vacancies:
        expected = {
            w["id"]: g for w in second.workers if (g := grade(truth[v["id"]], truth[w["id"]])) > 0
        }
        assert qrels.get(v["id"], {}) == expected
        assert v["title"] == truth[v["id"]].label and v["country"] == "ID"
    assert any(g == 3 for docs in qrels.values() for g in docs.values())


def test_workers_never_carry_the_occupation_code(taxonomy, lexicon):
    made = make_ranking_set(
        taxonomy, lexicon, RankingSetConfig(n_vacancies=3, n_workers=30, seed=1)
    )
    for w in made.workers:
        assert set(w) <= {"id", "region", "birth_date", "skills", "experience", "available"}
        assert all(e["occupation"] != made.truth[w["id"]].uri for e in w["experience"])


# --- baselines -----------------------------------------------------------------------------------


def test_top_k_orders_ties_by_column_and_applies_the_filter():
    scores = np.array([[0.5, 0.9, 0.5, 0.1]], dtype=np.float32)
    s, i = top_k(scores, 3)
    assert i.tolist() == [[1, 0, 2]] and s[0, 0] == pytest.approx(0.9)
    s, i = top_k(scores, 3, allowed=np.array([True, False, True, False]))
    assert i.tolist() == [[0, 2, -1]] and np.isneginf(s[0, 2])


def test_label_set_ranker_takes_the_best_label_and_tfidf_ranks_keywords():
    ranker = LabelSetRanker(CachedEncoder(BagOfWords())).fit(
        [["cook meals", "prepare food"], ["sew fabric"]]
    )
    scores = ranker.score(["prepare food", "sew"])
    assert scores[0, 0] == pytest.approx(1.0) and scores[1].argmax() == 1
    tfidf = TfidfRanker().fit(["cook meals in a kitchen", "sew fabric and garments"])
    assert tfidf.score(["garments"]).argmax() == 1


def test_bm25_ranks_the_keyword_match_first():
    import bm25s  # noqa: F401  (a test dependency: a missing one fails, not skips)

    from sepadan.evaluation.baselines import BM25Ranker

    bm25 = BM25Ranker().fit(["tend to elderly people", "sew pieces of fabric", "cook meals"])
    assert bm25.score(["caring for elderly", "zzz"])[0].argmax() == 0
    assert not bm25.score(["zzz"]).any()
    assert bm25.search(["fabric"], 2)[1][0, 0] == 1


def test_result_markdown_marks_the_best_system():
    result = Result(
        "x",
        "task",
        "data",
        ["MRR"],
        {"a": {"MRR": 0.2}, "sepadan": {"MRR": 0.4}},
        queries=2,
        stamp={"date": "2026-01-01", "git_commit": "abc", "cpu": "cpu", "cores": 2},
    )
    text = markdown(result)
    assert "| sepadan | **0.400** |" in text and "| a | 0.200 |" in text
    assert result.flat_metrics() == {"a/MRR": 0.2, "sepadan/MRR": 0.4}


def test_ranking_benchmark_end_to_end_with_a_fake_encoder(tmp_path, taxonomy, lexicon):
    """Engine, baselines and the same eligibility mask on a tiny generated set (no model)."""
    import bm25s  # noqa: F401  (a test dependency: a missing one fails, not skips)

    from sepadan.evaluation.quality import SEPADAN, Context, run_ranking

    made = make_ranking_set(
        taxonomy, lexicon, RankingSetConfig(n_vacancies=4, n_workers=40, seed=3)
    )
    paths = made.write(tmp_path / "set")
    encoder = CachedEncoder(BagOfWords())
    result = run_ranking(
        paths["workers"],
        paths["vacancies"],
        paths["qrels"],
        Context(taxonomy, lexicon, lambda: encoder),
        home=tmp_path / "home",
    )
    assert set(result.table) == {
        "BM25 (whole text)",
        "TF-IDF (whole text)",
        "embedding (whole text)",
        SEPADAN,
    }
    assert all(0 <= v <= 1 for row in result.table.values() for v in row.values())
    assert set(result.run) <= {v["id"] for v in made.vacancies}
    assert len(result.aims) == 2
