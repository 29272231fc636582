"""The learned-ranking commands: ``sepadan train`` and ``sepadan models list|promote|rollback``.

:func:`register` adds them to the main Typer app (``sepadan/cli/core.py`` calls it once, at the bottom).
The tracking store is ``sqlite:///<home>/mlflow.db`` unless ``MLFLOW_TRACKING_URI`` names another
(read here, at the edge, through :class:`~sepadan.config.Settings`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from sepadan.errors import SepadanError

# Defined here, not imported from sepadan.cli, so that this module never imports the CLI module at
# import time (``python -m sepadan.cli`` runs it as __main__: importing it back would be circular).
Home = Annotated[Optional[Path], typer.Option("--home", help="data folder (default $SEPADAN_HOME or ./.sepadan)")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]
Today = Annotated[Optional[str], typer.Option("--today", help="evaluate deadlines and licences on this date (YYYY-MM-DD)")]
out = Console(soft_wrap=True)
models_app = typer.Typer(no_args_is_help=True, help="Registered ranker versions: list, promote, roll back.")


def register(app: typer.Typer) -> None:
    """Add ``train`` and the ``models`` sub-commands to the main app."""
    app.command("train")(train)
    app.add_typer(models_app, name="models")


def _registry(home: Path | None) -> Any:
    from sepadan.cli.common import _settings
    from sepadan.models.registry import Registry

    settings = _settings(home)
    return Registry.for_home(settings.home, settings.mlflow_tracking_uri)


Holdout = Annotated[float, typer.Option(min=0.05, max=0.5, help="share of vacancies held out")]
Seed = Annotated[int, typer.Option(help="seed of the held-out split and of pair sampling")]
C = Annotated[float, typer.Option("--c", min=1e-6, help="inverse L2 regularisation of the ranker")]
Folds = Annotated[int, typer.Option("--cv-folds", min=0, max=20, help="GroupKFold folds on the training part")]
NoPromote = Annotated[bool, typer.Option("--no-promote", help="register the version, never move the champion")]


def train(holdout: Holdout = 0.2, seed: Seed = 20261123, c: C = 0.1, cv_folds: Folds = 5,
          no_promote: NoPromote = False, as_json: AsJson = False, today: Today = None,
          home: Home = None) -> None:
    """Train a ranker on the stored outcomes, compare it with the transparent scorer and the champion
    on held-out vacancies, log the run to MLflow and register it as sepadan-ranker; the alias
    'champion' moves only if the new version beats the current champion."""
    from sepadan.cli.common import _engine
    from sepadan.ingest.importer import load_records
    from sepadan.models.training import TrainingConfig, train_and_register

    config = TrainingConfig(holdout=holdout, seed=seed, C=c, cv_folds=cv_folds)
    with _engine(home, today) as engine:
        outcomes = load_records(engine.store, "outcomes")
        if not outcomes:
            raise SepadanError("no outcomes in the store: import some first (sepadan import outcomes FILE)")
        matcher = engine.matcher
        registry = _registry(home)
        done = train_and_register(matcher, outcomes, registry, engine.scorer.transparent, config,
                                  promote=not no_promote,
                                  params={"embedding_model": engine.encoder.name, "today": engine.today.isoformat()})
    if as_json:
        out.print_json(json.dumps(_train_json(done)))
        return
    _print_training(done)


def _train_json(done: Any) -> dict[str, Any]:
    return {"version": done.version.label, "promoted": done.promoted, "beats_champion": done.beats,
            "compared_with": done.compared_with, "data_digest": done.digest,
            "ranker": {**done.ranker.ranking, **done.ranker.shortlist},
            "transparent": {**done.transparent.ranking, **done.transparent.shortlist},
            "champion": {**done.baseline.ranking, **done.baseline.shortlist},
            "random_order": done.result.random.ranking, "cv": done.result.cv,
            "difference": done.delta}


def _print_training(done: Any) -> None:
    from sepadan.models.training import PRIMARY

    r = done.result
    systems = [(done.version.label, done.ranker), (done.transparent.name, done.transparent)]
    if done.baseline.name != done.transparent.name:
        systems.append((f"{done.baseline.name} (champion)", done.baseline))
    systems.append(("random order", r.random))
    table = Table(title=f"held-out vacancies: {len(set(r.holdout.vacancy_ids))} "
                        f"({len(r.holdout)} judged pairs); trained on {len(set(r.train.vacancy_ids))} "
                        f"vacancies ({len(r.train)} pairs)")
    table.add_column("metric")
    for name, _ in systems:
        table.add_column(name, justify="right")
    keys = [k for k in (*done.ranker.ranking, *done.ranker.shortlist) if "vacancies" not in k]
    for key in sorted(keys, key=_metric_order):
        table.add_row(key, *(_fmt(ev.ranking.get(key, ev.shortlist.get(key))) for _, ev in systems))
    out.print(table)
    if r.cv:
        out.print(f"cross-validated {PRIMARY} on the training part ({int(r.cv['cv/folds'])} folds by vacancy): "
                  f"ranker {r.cv.get(f'cv/ranker/{PRIMARY}_mean', float('nan')):.4f} "
                  f"± {r.cv.get(f'cv/ranker/{PRIMARY}_std', float('nan')):.4f}, transparent "
                  f"{r.cv.get(f'cv/transparent/{PRIMARY}_mean', float('nan')):.4f} "
                  f"± {r.cv.get(f'cv/transparent/{PRIMARY}_std', float('nan')):.4f}")
    new, old = done.ranker.ranking.get(PRIMARY), done.baseline.ranking.get(PRIMARY)
    figures = f"{PRIMARY} {_fmt(new)} vs {_fmt(old)} of {done.compared_with} on the same held-out split"
    d = done.delta
    if d:
        out.print(f"difference {d[f'delta_{PRIMARY}']:+.4f}, 90% bootstrap interval over vacancies "
                  f"[{d[f'delta_{PRIMARY}_p05']:+.4f}, {d[f'delta_{PRIMARY}_p95']:+.4f}]; better on "
                  f"{int(d['wins'])} vacancies, worse on {int(d['losses'])}, equal on {int(d['ties'])}")
    if done.promoted:
        out.print(f"registered {done.version.label}; champion moved to it ({figures})")
    elif done.beats:
        out.print(f"registered {done.version.label}; it beats the champion ({figures}) but --no-promote was given")
    else:
        out.print(f"registered {done.version.label}; champion unchanged ({figures})")
    out.print(f"training data digest (sha256 of sorted vacancy, worker, label): {done.digest}")


def _metric_order(key: str) -> tuple[int, str]:
    for i, prefix in enumerate(("ndcg", "map", "recall", "shortlist_recall", "skew_at_10/gender", "skew")):
        if key.startswith(prefix):
            return i, key
    return 9, key


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


@models_app.command("list")
def list_(as_json: AsJson = False, home: Home = None) -> None:
    """Every registered version of sepadan-ranker, newest first, with its aliases and held-out figures."""
    from sepadan.models.training import PRIMARY

    registry = _registry(home)
    versions = registry.versions()
    history = registry.history() if versions else []
    rows = [{"version": v.label, "aliases": list(v.aliases), "created": v.created.isoformat(timespec="seconds"),
             PRIMARY: v.metrics.get(f"ranker/{PRIMARY}"), "compared_with": v.run_tags.get("compared_with"),
             f"compared_{PRIMARY}": v.metrics.get(f"champion/{PRIMARY}"),
             "promoted_on_training": v.run_tags.get("promoted") == "true",
             "skew_at_10_gender_max_abs": v.metrics.get("ranker/skew_at_10/gender/max_abs"),
             "skew_at_10_province_max_abs": v.metrics.get("ranker/skew_at_10/province/max_abs"),
             "data_digest": v.run_tags.get("data_digest")} for v in versions]
    if as_json:
        out.print_json(json.dumps({"tracking_uri": registry.tracking_uri, "champion_history": history,
                                   "versions": rows}))
        return
    if not rows:
        out.print(f"no ranker registered at {registry.tracking_uri} (sepadan train)")
        return
    table = Table(title="sepadan-ranker versions (figures on their held-out vacancies)")
    for col in ("ver.", "aliases", "created", "NDCG@10", "to beat", "skew@10 gender", "skew@10 prov."):
        table.add_column(col)
    for r, v in zip(rows, versions):
        beaten = (r["compared_with"] or "").replace("sepadan-ranker/", "v")
        table.add_row(str(v.version), ", ".join(r["aliases"]) or "-", v.created.strftime("%Y-%m-%d"),
                      _fmt(r[PRIMARY]), f"{_fmt(r[f'compared_{PRIMARY}'])} {beaten}".strip(),
                      _fmt(r["skew_at_10_gender_max_abs"]), _fmt(r["skew_at_10_province_max_abs"]))
    out.print(table)
    out.print("champion history: " + (" -> ".join(str(v) for v in history) or "-")
              + f"; tracking store {registry.tracking_uri}")


@models_app.command("promote")
def promote(version: Annotated[int, typer.Argument(help="the version number, e.g. 3")],
            home: Home = None) -> None:
    """Make a version the champion by hand; the current champion becomes previous-champion."""
    registry = _registry(home)
    before = registry.champion_version()
    info = registry.promote(version, reason="promoted by hand (sepadan models promote)")
    out.print(f"champion: {info.label}" + (f" (was sepadan-ranker/{before})" if before and before != version else ""))


@models_app.command("rollback")
def rollback(home: Home = None) -> None:
    """Move champion back to the previous champion."""
    registry = _registry(home)
    before = registry.champion_version()
    info = registry.rollback()
    out.print(f"champion: {info.label} (rolled back from sepadan-ranker/{before})")
