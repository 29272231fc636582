"""Labelled example titles (data/titles/examples.tsv): only the JobBERT dev split, the loader's
row errors, the vote's arithmetic, the normaliser's use of it and the setting that turns it off;
BM25 over labels. The fake encoder for logic; the shipped file and the split rule for the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepadan.evaluation.datasets import load_jobbert, split_benchmark, title_split
from sepadan.features.bm25 import LabelBM25, tokens
from sepadan.features.occupations import OccupationNormaliser
from sepadan.features.text import normalise_text
from sepadan.features.title_examples import (
    HEADER,
    TitleExamples,
    example_votes,
    load_title_examples,
)

JOBBERT = Path(__file__).resolve().parents[2] / "shared" / "data" / "jobbert-eval" / "titles.csv"
OCC = "http://data.europa.eu/esco/occupation/"


@pytest.fixture(scope="module")
def shipped(taxonomy):
    return load_title_examples(known=taxonomy.occupations)


def test_the_shipped_examples_are_dev_split_titles_only(shipped):
    """No title of the file is a test-split title: the benchmarks' held-out side stays out."""
    assert len(shipped) > 3000
    assert {title_split(t) for t in shipped.titles} == {"dev"}
    assert all(u.startswith(OCC) for u in shipped.uris)


@pytest.mark.skipif(not JOBBERT.is_file(), reason="the JobBERT reference file is not here")
def test_the_shipped_examples_are_exactly_the_jobbert_dev_split(shipped):
    bench = load_jobbert(JOBBERT)
    test_titles = {normalise_text(t) for t in split_benchmark(bench, "test").texts}
    assert not test_titles & {normalise_text(t) for t in shipped.titles}
    dev = split_benchmark(bench, "dev")
    pairs = {(" ".join(t.split()), next(iter(dev.qrels[q]))) for q, t in dev.queries}
    assert pairs == set(zip(shipped.titles, shipped.uris, strict=True))


def _write(tmp_path: Path, *rows: str) -> Path:
    folder = tmp_path / "titles"
    folder.mkdir(exist_ok=True)
    (folder / "examples.tsv").write_text("\t".join(HEADER) + "\n# a note\n" + "".join(
        r + "\n" for r in rows), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        (f"General Worker\t{OCC}x\t", "source", "is empty"),
        (f"!!!\t{OCC}x\tjobbert", "title", "has no words"),
        ("General Worker\thttp://example.org/x\tjobbert", "occupation_uri", "not an ESCO"),
        (f"General Worker\t{OCC}not-there\tjobbert", "occupation_uri", "not in the taxonomy"),
        ("General Worker\tjobbert", "source", "expected 3 tab-separated fields"),
    ],
)
def test_a_bad_row_is_named_by_file_row_and_field(tmp_path, taxonomy, row, field, problem):
    known = {f"{OCC}x"} if "not-there" in row else None
    data = _write(tmp_path, f"Clerk\t{OCC}x\tjobbert", row)
    with pytest.raises(ValueError, match=rf"examples\.tsv: row 4, field '{field}': .*{problem}"):
        load_title_examples(data, known=known)


def test_votes_of_the_nearest_examples_sum_to_one():
    sims = np.array([[1.0, 0.9, 0.2], [0.1, 0.2, 0.95]], dtype=np.float32)
    labels = np.array([0, 1, 2])
    votes, nearest = example_votes(sims, labels, 4, k=2, temperature=0.1)
    assert votes.sum(axis=1) == pytest.approx([1.0, 1.0])
    w = np.exp(-1.0)  # cos 0.9 at temperature 0.1 against cos 1.0
    assert votes[0] == pytest.approx([1 / (1 + w), w / (1 + w), 0, 0], abs=1e-6)
    assert votes[1, 3] == 0 and votes[1, 0] == 0  # example 0 is not among row 1's nearest 2
    assert nearest[0, 0] == pytest.approx(1.0) and nearest[0, 3] == -1


def test_an_example_title_gives_its_label_and_the_setting_turns_it_off(
    taxonomy, lexicon, fake_encoder
):
    """A made-up wording nothing in ESCO says, labelled once: the normaliser follows the label."""
    target = sorted(taxonomy.occupations)[123]
    examples = TitleExamples(("Zorblat Quux Handler",), (target,))
    on = OccupationNormaliser(taxonomy, lexicon, fake_encoder, examples=examples)
    off = OccupationNormaliser(taxonomy, lexicon, fake_encoder, examples=None)
    assert on.normalise("zorblat quux handler (urgent)").uri == target
    assert off.normalise("zorblat quux handler (urgent)").uri != target
    assert on.rank(["Zorblat Quux Handler"], k=1)[0][0][0] == target


def test_the_engine_reads_the_setting(make_engine, tmp_path):
    engine = make_engine({}, title_examples=False)
    assert engine.profiler.occupations.voter is None
    assert make_engine({}, home=tmp_path / "on").profiler.occupations.voter is not None


def test_bm25_prefers_the_label_sharing_the_rare_word():
    bm25 = LabelBM25().fit(["kitchen porter dishwasher", "office clerk", "kitchen manager chef"])
    scores = bm25.score(["Dishwashers needed", "the and of"])
    assert int(np.argmax(scores[0])) == 0 and scores[0, 1] == 0
    assert not scores[1].any()  # stop words only
    assert tokens("Clerks and Secretaries") == ["clerk", "secretary"]
