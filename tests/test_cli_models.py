"""``sepadan train`` prints what the result file holds: held-out and cross-validated figures (naive
and IPS, top 10 and 30, fairness per group), the targets, the decision and its reason (the tiny
market of tests/test_models.py)."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import typer
from rich.console import Console
from test_models import (  # noqa: F401  (fixtures)
    _no_outside_tracking_store,
    _skills_first_transparent_scorer,
    empty_store,
    engine,
    home,
)
from typer.testing import CliRunner

from sepadan.cli.models import register
from sepadan.models.registry import Registry

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
# the tiny market's 15 vacancies; a tolerance its fairness figures cannot break, so the gain decides and
# the reason says where fairness was judged
SMALL = ["--cv-folds", "3", "--skew-min-vacancies", "1", "--holdout", "0.3", "--fairness-tolerance", "100"]


@pytest.fixture
def train(engine, home, monkeypatch):
    """``sepadan train ARGS --home HOME`` run against the tiny market's engine; returns the output."""
    @contextmanager
    def same_engine(_home, _today=None):
        yield engine

    monkeypatch.setattr("sepadan.cli.common._engine", same_engine)
    monkeypatch.setattr("sepadan.cli.models.out", Console(width=250, soft_wrap=True))  # no wrapped cells
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)

    def run(*args: str, command: tuple[str, ...] = ("train", *SMALL)) -> str:
        result = CliRunner().invoke(app, [*command, *args, "--home", str(home)], terminal_width=200)
        assert result.exit_code == 0, result.output
        return result.output
    return run


def test_train_prints_the_held_out_and_cross_validated_tables_and_the_reason(train, home):
    text = train("--no-promote")
    for heading in ("held-out vacancies, figures", "minus transparent-1 on the held-out vacancies",
                    "3-fold cross-validated over all vacancies", "Skew@10 per group, cross-validated",
                    "Where we aim"):
        assert heading in text
    for row in ("hires in the eligible top 10 (naive)", "hires in the eligible top 30 (IPS)",
                "max abs Skew@10 gender", "NDKL@10 province", "hires in top 10, IPS"):
        assert row in text
    version = Registry.for_home(home).versions()[0]
    reason = version.run_tags["decision_reason"]
    assert "(--no-promote given)" in reason
    assert f"why: {reason}" in " ".join(text.split())  # the reason MLflow holds, word for word
    assert "cross-validated)" in reason  # fairness judged on the cross-validated figures
    assert "cv_all/ranker/skew_at_10/gender/F" in version.metrics
    shown = json.loads(train("--json", command=("models", "show", "1")))
    assert shown["fairness_cv"]["ranker"]["skew_at_10/gender/F"] == version.metrics["cv_all/ranker/skew_at_10/gender/F"]
    assert "fairness cross-validated over all vacancies" in train(command=("models", "show", "1"))


def test_no_cv_all_leaves_the_cross_validation_out_and_judges_fairness_on_the_split(train, home):
    text = train("--no-cv-all")
    assert "cross-validated over all vacancies" not in text and "Skew@10 per group" not in text
    assert "held-out vacancies, figures" in text and "why: " in text
    reason = Registry.for_home(home).versions()[0].run_tags["decision_reason"]
    assert "on the held-out split" in reason
