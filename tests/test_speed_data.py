"""The speed benchmark's data are the demo generator's rows, without the hiring outcomes."""

from __future__ import annotations

from sepadan.demo_data import generate
from sepadan.evaluation.speed import SpeedConfig, generate_pool


def test_generate_pool_writes_the_demo_rows(tmp_path) -> None:
    config = SpeedConfig(vacancies=30)
    generate_pool(tmp_path / "pool", 80, config)
    generate(tmp_path / "demo", seed=config.seed, n_workers=80, n_vacancies=30, today=config.today)
    for kind in ("agencies", "trainings", "vacancies", "workers"):
        assert (tmp_path / "pool" / f"{kind}.jsonl").read_bytes() == (tmp_path / "demo" / f"{kind}.jsonl").read_bytes()
    assert not (tmp_path / "pool" / "outcomes.jsonl").exists()
