"""The one module that talks to MLflow: a benchmark result becomes one MLflow run (params, metrics,
the result files as artifacts). The tracking URI is given by the caller (the CLI reads the env)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sepadan.evaluation.baselines import require
from sepadan.evaluation.results import Result

log = logging.getLogger(__name__)
EXPERIMENT = "sepadan-bench"


def default_tracking_uri(home: Path) -> str:
    """``sqlite:///<home>/mlflow.db`` (an absolute path)."""
    return f"sqlite:///{(Path(home) / 'mlflow.db').resolve()}"


def log_result(
    result: Result,
    artifacts: Iterable[Path],
    *,
    tracking_uri: str,
    experiment: str = EXPERIMENT,
    artifact_root: Path | None = None,
) -> str:
    """Log one result as an MLflow run; returns the run id."""
    require("mlflow", "tracking benchmark runs")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        location = artifact_root.resolve().as_uri() if artifact_root else None
        experiment_id = client.create_experiment(experiment, artifact_location=location)
    stamp = result.stamp
    tags = {
        "mlflow.runName": result.name,
        "task": result.task,
        "dataset": result.dataset,
        "mlflow.source.git.commit": str(stamp.get("git_commit")),
        "git_dirty": str(stamp.get("git_dirty")),
        "machine": f"{stamp.get('cpu')}, {stamp.get('cores')} cores, {stamp.get('memory_gb')} GB",
    }
    run = client.create_run(experiment_id, tags=tags)
    run_id = run.info.run_id
    for key, value in _params(result).items():
        client.log_param(run_id, key, value)
    for key, value in result.flat_metrics().items():
        client.log_metric(run_id, key, value)
    for path in artifacts:
        if Path(path).is_file():
            client.log_artifact(run_id, str(path))
    client.set_terminated(run_id)
    log.info("logged %s to MLflow run %s (%s)", result.name, run_id, tracking_uri)
    return run_id


def _params(result: Result) -> dict[str, str]:
    params = {"queries": result.queries, "metrics": ",".join(result.metrics), **result.params}
    return {k: str(v)[:500] for k, v in params.items()}
