"""Benchmarks that cannot silently measure nothing: ``sepadan bench ranking`` imports the licence
register given with ``--agencies``, every result counts its queries with an empty result, and a
set where more than 5% of the queries have no eligible candidate is refused unless
``--allow-empty``. A tiny generated set and the fake encoder (the model does not matter here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sepadan.evaluation.quality import Context
from sepadan.evaluation.ranking_set import RankingSetConfig, make_ranking_set
from sepadan.evaluation.results import EmptyBenchmark, Result, check_empty, markdown
from sepadan.features.lexicon import load_lexicon
from sepadan.features.taxonomy import load_taxonomy

LICENCE = "P3MI-2099-0001"


@pytest.fixture(scope="module")
def overseas_set(tmp_path_factory) -> dict[str, Path]:
    """4 vacancies x 40 workers; every order is overseas (Malaysia) through one licensed agency."""
    taxonomy = load_taxonomy()
    made = make_ranking_set(
        taxonomy, load_lexicon(taxonomy), RankingSetConfig(n_vacancies=4, n_workers=40, seed=5)
    )
    paths = made.write(tmp_path_factory.mktemp("overseas"))
    rows = [json.loads(line) for line in paths["vacancies"].read_text().splitlines()]
    for row in rows:
        row |= {"country": "MY", "region": None, "scheme": "P2P", "agency_licence": LICENCE}
    paths["vacancies"].write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    agency = {"licence": LICENCE, "name": "PT Uji", "status": "active", "valid_until": "2030-12-31"}
    paths["agencies"] = paths["vacancies"].with_name("agencies.jsonl")
    paths["agencies"].write_text(json.dumps(agency) + "\n")
    return paths


@pytest.fixture()
def cli(monkeypatch, fake_encoder):
    """``sepadan bench`` with the fake encoder in place of the model."""
    import sepadan.cli.bench as bench

    taxonomy = load_taxonomy()
    ctx = Context(taxonomy, load_lexicon(taxonomy), lambda: fake_encoder)
    monkeypatch.setattr(bench, "_context", lambda settings: ctx)
    runner = CliRunner()

    def invoke(*args: str, home: Path):
        return runner.invoke(bench.bench_app, [*args, "--no-track", "--home", str(home)])

    return invoke


def _ranking_args(paths: dict[str, Path], results: Path) -> list[str]:
    return [
        "ranking",
        "--workers", str(paths["workers"]),
        "--vacancies", str(paths["vacancies"]),
        "--qrels", str(paths["qrels"]),
        "--today", "2026-11-01",
        "--name", "tiny-overseas",
        "--results", str(results),
    ]


def test_without_the_register_every_order_is_empty_and_the_benchmark_refuses(
    overseas_set, cli, tmp_path
):
    out = tmp_path / "results"
    done = cli(*_ranking_args(overseas_set, out), home=tmp_path / "home")
    assert done.exit_code != 0
    message = str(done.exception) + done.output
    assert "4 of 4 queries (100.0%) have no eligible candidate" in message
    assert "--agencies" in message and "--allow-empty" in message
    assert not (out / "tiny-overseas.md").exists()  # nothing written that could pass as a result


def test_allow_empty_writes_the_result_and_says_the_count(overseas_set, cli, tmp_path):
    out = tmp_path / "results"
    done = cli(*_ranking_args(overseas_set, out), "--allow-empty", home=tmp_path / "home")
    assert done.exit_code == 0, done.output
    text = (out / "tiny-overseas.md").read_text()
    assert "with no eligible candidate: 4 (100.0%)" in text
    assert "written with --allow-empty: 4 of 4 queries (100.0%)" in text
    body = json.loads((out / "tiny-overseas.json").read_text())
    assert body["empty"]["no_candidate"] == 4


def test_with_the_register_the_orders_have_candidates(overseas_set, cli, tmp_path):
    out = tmp_path / "results"
    args = [*_ranking_args(overseas_set, out), "--agencies", str(overseas_set["agencies"])]
    done = cli(*args, home=tmp_path / "home")
    assert done.exit_code == 0, done.output
    body = json.loads((out / "tiny-overseas.json").read_text())
    assert body["empty"]["no_candidate"] == 0
    assert body["empty"]["by_system"]["sepadan"] == 0
    assert body["table"]["sepadan"]["NDCG@10"] > 0


def _result(queries: int, empty: int) -> Result:
    return Result(
        name="r", task="t", dataset="d", metrics=["MRR"], table={"sepadan": {"MRR": 0.5}},
        queries=queries, empty={"by_system": {"sepadan": empty}, "no_candidate": empty},
    )


def test_the_limit_is_five_percent_of_the_queries():
    check_empty(_result(100, 5), allow=False)  # 5% passes
    with pytest.raises(EmptyBenchmark, match="6 of 100 queries"):
        check_empty(_result(100, 6), allow=False)
    with pytest.raises(EmptyBenchmark, match="no queries"):
        check_empty(_result(0, 0), allow=False)
    allowed = _result(100, 6)
    check_empty(allowed, allow=True)
    assert "Queries with an empty result: sepadan 6" in markdown(allowed)
