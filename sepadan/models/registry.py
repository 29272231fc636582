"""The one module that talks to MLflow for rankers: tracking URI, runs, the registry, aliases, loading.

Runs go to the experiment ``sepadan-ranker``; versions to the registered model ``sepadan-ranker``.
The alias ``champion`` names the version that serves; ``previous-champion`` the one before it;
``challenger`` the latest version the promotion rule did not promote (its tag says why); and
the registered model's tag ``champion_history`` keeps every promotion in order, so a rollback can
go back more than one step. Models are stored in MLflow's sklearn format serialised with skops
(no pickle) and loaded with skops against sepadan's own list of trusted types, never the list
written inside the model.

The tracking URI is given by the caller (the CLI reads ``MLFLOW_TRACKING_URI``); the default is a
SQLite file in the home folder with artifacts beside it (:func:`default_tracking_uri`).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sepadan.errors import NotFound, SepadanError
from sepadan.models.features import protected_names

if TYPE_CHECKING:  # the ranker module imports scikit-learn (0.6 s): only where a model is loaded
    from sepadan.models.ranker import MonotoneRanker

log = logging.getLogger(__name__)
MODEL_NAME = "sepadan-ranker"
EXPERIMENT = "sepadan-ranker"
CHAMPION, PREVIOUS, CHALLENGER = "champion", "previous-champion", "challenger"
HISTORY_TAG = "champion_history"
SYSTEMS = ("ranker", "transparent", "champion", "random")  # metric prefixes of a training run
MODEL_DIR = "model"


def default_tracking_uri(home: Path) -> str:
    """``sqlite:///<home>/mlflow.db`` (an absolute path)."""
    return f"sqlite:///{(Path(home) / 'mlflow.db').resolve()}"


def default_artifact_root(home: Path) -> Path:
    return (Path(home) / "mlartifacts").resolve()


def resolve_tracking(home: Path, override: str | None) -> tuple[str, Path | None]:
    """The tracking URI and artifact root to use: ``override`` if given (artifacts where its server
    puts them), else the SQLite file and ``mlartifacts/`` in the home folder."""
    if override:
        return override, None
    return default_tracking_uri(home), default_artifact_root(home)


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version: int
    aliases: tuple[str, ...]
    run_id: str | None
    created: datetime
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    run_tags: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{MODEL_NAME}/{self.version}"


@dataclass(frozen=True, slots=True)
class LoadedRanker:
    """A registered version, loaded: the estimator and the feature names it reads, in order."""

    version: int
    model: MonotoneRanker
    features: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{MODEL_NAME}/{self.version}"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one training run logs: never rows, never personal data (the digest stands for the data)."""

    name: str
    params: Mapping[str, Any]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]
    model: MonotoneRanker
    figure: Any = None  # a matplotlib Figure: the feature-importance plot
    report: Mapping[str, Any] | None = None  # logged as report.json


class Registry:
    """MLflow tracking and registry for ``sepadan-ranker`` at one tracking URI."""

    def __init__(self, tracking_uri: str, *, artifact_root: Path | None = None, name: str = MODEL_NAME,
                 experiment: str = EXPERIMENT) -> None:
        self.tracking_uri, self.artifact_root = tracking_uri, artifact_root
        self.name, self.experiment = name, experiment
        self._client: Any = None

    @classmethod
    def for_home(cls, home: Path, tracking_uri: str | None = None) -> Registry:
        """The registry at ``tracking_uri``, else at the SQLite file in ``home`` (artifacts beside it)."""
        uri, root = resolve_tracking(home, tracking_uri)
        return cls(uri, artifact_root=root)

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                from mlflow.tracking import MlflowClient
            except ImportError as exc:  # pragma: no cover - mlflow is a dependency
                raise SepadanError("learned rankers need mlflow and skops: "
                                   "pip install 'mlflow>=3.17,<4' 'skops>=0.16'") from exc
            self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        return self._client

    def exists(self) -> bool:
        """False only when the tracking store is a SQLite file that does not exist yet (nothing was
        ever trained there); asking MLflow would create it."""
        if self.tracking_uri.startswith("sqlite:///"):
            return Path(self.tracking_uri.removeprefix("sqlite:///")).exists()
        return True

    # --- logging -------------------------------------------------------------------------------

    def log_run(self, record: RunRecord) -> VersionInfo:
        """Log params, metrics, tags, the plot and the model; register the model as a new version."""
        from sepadan.models.ranker import feature_names

        names = feature_names(record.model)
        if protected_names(names):
            raise SepadanError(f"refusing to register a model that reads {protected_names(names)}")
        client = self.client
        run = client.create_run(self._experiment_id(), run_name=record.name, tags=dict(record.tags))
        run_id = run.info.run_id
        try:
            from mlflow.entities import Metric, Param

            stamp = int(datetime.now(timezone.utc).timestamp() * 1000)
            client.log_batch(run_id, params=[Param(k, str(v)[:500]) for k, v in record.params.items()],
                             metrics=[Metric(k, float(v), stamp, 0) for k, v in record.metrics.items()])
            if record.figure is not None:
                client.log_figure(run_id, record.figure, "feature_importance.png")
            if record.report is not None:
                client.log_dict(run_id, dict(record.report), "report.json")
            self._log_model(run_id, record.model, names)
            version = self._register(run_id)
        except Exception:
            client.set_terminated(run_id, status="FAILED")
            raise
        client.set_terminated(run_id)
        log.info("logged run %s and registered %s/%s", run_id, self.name, version)
        return self.version(version)

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return found.experiment_id
        location = (self.artifact_root / self.experiment).as_uri() if self.artifact_root else None
        return self.client.create_experiment(self.experiment, artifact_location=location)

    def _log_model(self, run_id: str, model: MonotoneRanker, names: tuple[str, ...]) -> None:
        import mlflow.sklearn
        import skops
        import sklearn
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema

        from sepadan.models.ranker import TRUSTED_TYPES

        signature = ModelSignature(inputs=Schema([ColSpec("double", n) for n in names]),
                                   outputs=Schema([ColSpec("double")]))
        with tempfile.TemporaryDirectory(prefix="sepadan-model-") as tmp:
            path = Path(tmp) / MODEL_DIR
            mlflow.sklearn.save_model(
                model, str(path), serialization_format="skops", signature=signature,
                skops_trusted_types=list(TRUSTED_TYPES),
                pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}",
                                  "sepadan"])
            self.client.log_artifacts(run_id, str(path), MODEL_DIR)

    def _register(self, run_id: str) -> int:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.name)
        except MlflowException:
            self.client.create_registered_model(
                self.name, description="sepadan's learned ranker (sepadan.models.ranker.MonotoneRanker)")
        source = f"{self.client.get_run(run_id).info.artifact_uri}/{MODEL_DIR}"
        return int(self.client.create_model_version(self.name, source, run_id=run_id).version)

    # --- reading -------------------------------------------------------------------------------

    def versions(self) -> list[VersionInfo]:
        """Every registered version, newest first, with its aliases and its run's metrics."""
        if not self.exists():
            return []
        found = self.client.search_model_versions(f"name='{self.name}'")
        out = [self._info(mv, with_metrics=True) for mv in found]
        return sorted(out, key=lambda v: -v.version)

    def aliases(self) -> dict[int, tuple[str, ...]]:
        """``{version: aliases}`` from the registered model (model-version searches may omit them)."""
        from mlflow.exceptions import MlflowException

        try:
            pairs = self.client.get_registered_model(self.name).aliases or {}
        except MlflowException:
            return {}
        out: dict[int, list[str]] = {}
        for alias, version in pairs.items():
            out.setdefault(int(version), []).append(alias)
        return {v: tuple(sorted(a)) for v, a in out.items()}

    def version(self, version: int) -> VersionInfo:
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version(self.name, str(version))
        except MlflowException:
            raise NotFound(f"model version {self.name}/{version} not found") from None
        return self._info(mv, with_metrics=True)

    def champion_version(self) -> int | None:
        """The version under the alias ``champion``, or None (no store, no model, no alias)."""
        return self.alias_version(CHAMPION)

    def alias_version(self, alias: str) -> int | None:
        if not self.exists():
            return None
        from mlflow.exceptions import MlflowException

        try:
            return int(self.client.get_model_version_by_alias(self.name, alias).version)
        except MlflowException:
            return None

    def _info(self, mv: Any, *, with_metrics: bool) -> VersionInfo:
        metrics: dict[str, float] = {}
        run_tags: dict[str, str] = {}
        if with_metrics and mv.run_id:
            data = self.client.get_run(mv.run_id).data
            metrics, run_tags = dict(data.metrics), {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
        created = datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=timezone.utc)
        aliases = self.aliases().get(int(mv.version), ())
        return VersionInfo(int(mv.version), aliases, mv.run_id, created, dict(mv.tags or {}), metrics, run_tags)

    def history(self) -> list[int]:
        """Champions in the order they were promoted (the last one is serving)."""
        from mlflow.exceptions import MlflowException

        try:
            tags = self.client.get_registered_model(self.name).tags
        except MlflowException:
            return []
        history = [int(v) for v in json.loads(tags.get(HISTORY_TAG, "[]"))]
        current = self.champion_version()
        if current is not None and (not history or history[-1] != current):
            history.append(current)  # the alias was moved by hand (MLflow UI): trust the alias
        return history

    # --- aliases -------------------------------------------------------------------------------

    def promote(self, version: int, *, reason: str = "promoted by hand") -> VersionInfo:
        """Make ``version`` the champion; the current champion becomes ``previous-champion``."""
        self.version(version)  # raises NotFound
        history = self.history()
        if history and history[-1] == version:
            log.info("%s/%s is already the champion", self.name, version)
            return self.version(version)
        history.append(version)
        self._set_history(history)
        self.client.set_model_version_tag(self.name, str(version), "promoted_at", _now())
        self.client.set_model_version_tag(self.name, str(version), "promotion_reason", reason[:500])
        log.info("champion is now %s/%s (%s)", self.name, version, reason)
        return self.version(version)

    def mark_challenger(self, version: int, *, reason: str) -> VersionInfo:
        """Point the alias ``challenger`` at ``version`` (a version that was not promoted) and keep why."""
        self.version(version)  # raises NotFound
        self.client.set_registered_model_alias(self.name, CHALLENGER, str(version))
        self.client.set_model_version_tag(self.name, str(version), "challenger_reason", reason[:5000])
        log.info("%s/%s is the challenger (%s)", self.name, version, reason)
        return self.version(version)

    def rollback(self) -> VersionInfo:
        """Move ``champion`` back to the previous champion (the history keeps going back)."""
        history = self.history()
        if len(history) < 2:
            raise SepadanError("there is no previous champion to roll back to")
        dropped = history.pop()
        self._set_history(history)
        self.client.set_model_version_tag(self.name, str(dropped), "rolled_back_at", _now())
        log.info("rolled back %s/%s; champion is now %s/%s", self.name, dropped, self.name, history[-1])
        return self.version(history[-1])

    def _set_history(self, history: list[int]) -> None:
        client = self.client
        client.set_registered_model_tag(self.name, HISTORY_TAG, json.dumps(history))
        client.set_registered_model_alias(self.name, CHAMPION, str(history[-1]))
        if len(history) >= 2:
            client.set_registered_model_alias(self.name, PREVIOUS, str(history[-2]))
        elif self.alias_version(PREVIOUS) is not None:
            client.delete_registered_model_alias(self.name, PREVIOUS)

    # --- reports -------------------------------------------------------------------------------

    def report(self, version: int) -> dict[str, Any]:
        """One version's figures as plain data: held-out metrics per system, fairness per system
        (held-out, and cross-validated over all vacancies as ``fairness_cv`` where the run has it),
        hire rates of its outcomes, differences with intervals, weights, and the promotion decision."""
        info = self.version(version)
        by_system: dict[str, dict[str, float]] = {}
        for key, value in sorted(info.metrics.items()):
            system, _, name = key.partition("/")
            by_system.setdefault(system, {})[name] = value
        fair = ("skew_at_", "ndkl_at_")
        extra = self._report_json(info.run_id)
        return {
            "version": info.label, "aliases": list(info.aliases),
            "created": info.created.isoformat(timespec="seconds"),
            "decision": info.run_tags.get("decision"),
            "reason": info.run_tags.get("decision_reason") or info.tags.get("promotion_reason"),
            "compared_with": info.run_tags.get("compared_with"), "data_digest": info.run_tags.get("data_digest"),
            "metrics": {s: {k: v for k, v in m.items() if not k.startswith(fair)} for s, m in by_system.items()
                        if s in SYSTEMS},
            "fairness": {s: {k: v for k, v in m.items() if k.startswith(fair)} for s, m in by_system.items()
                         if s in SYSTEMS and any(k.startswith(fair) for k in m)},
            "fairness_cv": _cross_validated(info.metrics, fair),
            "hire_rates": by_system.get("data", {}),
            "differences": {**by_system.get("compare", {}),
                            **{f"transparent/{k}": v for k, v in by_system.get("compare_transparent", {}).items()}},
            "weights": extra.get("weights", {}), "directions": extra.get("directions", {}),
        }

    def _report_json(self, run_id: str | None) -> dict[str, Any]:
        if not run_id:
            return {}
        try:
            root = self.client.get_run(run_id).info.artifact_uri
            if root.startswith("file://"):
                from mlflow.utils.file_utils import local_file_uri_to_path

                return json.loads((Path(local_file_uri_to_path(root)) / "report.json").read_text(encoding="utf-8"))
            with tempfile.TemporaryDirectory(prefix="sepadan-report-") as tmp:
                path = self.client.download_artifacts(run_id, "report.json", tmp)
                return json.loads(Path(path).read_text(encoding="utf-8"))
        except Exception as exc:  # an older run without report.json, or an unreachable artifact store
            log.info("no report.json for run %s (%s)", run_id, exc)
            return {}

    # --- loading -------------------------------------------------------------------------------

    def load(self, version: int) -> LoadedRanker:
        """Load a registered version with skops, trusting only :data:`ranker.TRUSTED_TYPES`."""
        import skops.io

        from sepadan.models.ranker import TRUSTED_TYPES, MonotoneRanker, feature_names
        from mlflow.models import Model

        with self._model_files(version) as local:
            flavor = Model.load(str(local / "MLmodel")).flavors.get("sklearn", {})
            if flavor.get("serialization_format") != "skops":
                raise SepadanError(f"{self.name}/{version} is not stored with skops; refusing to load it")
            path = local / flavor["pickled_model"]
            untrusted = set(skops.io.get_untrusted_types(file=path))
            if not untrusted <= set(TRUSTED_TYPES):
                raise SepadanError(f"{self.name}/{version} holds types sepadan does not trust: "
                                   f"{sorted(untrusted - set(TRUSTED_TYPES))}")
            model = skops.io.load(path, trusted=sorted(untrusted))
        if not isinstance(model, MonotoneRanker):
            raise SepadanError(f"{self.name}/{version} is a {type(model).__name__}, not a MonotoneRanker")
        return LoadedRanker(int(version), model, feature_names(model))

    def signature_inputs(self, version: int) -> list[str]:
        """The input names in a registered version's MLflow signature."""
        from mlflow.models import Model

        with self._model_files(version) as local:
            return list(Model.load(str(local / "MLmodel")).signature.inputs.input_names())

    @contextmanager
    def _model_files(self, version: int) -> Iterator[Path]:
        """The folder of a version's MLflow model: read in place when local, else downloaded."""
        from mlflow.exceptions import MlflowException

        try:
            source = self.client.get_model_version(self.name, str(version)).source
        except MlflowException:
            raise NotFound(f"model version {self.name}/{version} not found") from None
        if source.startswith("file://"):
            from mlflow.utils.file_utils import local_file_uri_to_path

            yield Path(local_file_uri_to_path(source))
            return
        import mlflow.artifacts

        with tempfile.TemporaryDirectory(prefix="sepadan-model-") as tmp:
            yield Path(mlflow.artifacts.download_artifacts(
                artifact_uri=source, dst_path=tmp, tracking_uri=self.tracking_uri,
                registry_uri=self.tracking_uri))


def _cross_validated(metrics: dict[str, float], prefixes: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """``{system: {figure: value}}`` of the fairness figures cross-validated over all vacancies
    (``cv_all/<system>/<figure>``; what the promotion rule judges where a run has them)."""
    out: dict[str, dict[str, float]] = {}
    for key, value in sorted(metrics.items()):
        head, system, name = (key.split("/", 2) + ["", ""])[:3]
        if head == "cv_all" and system in ("ranker", "transparent") and name.startswith(prefixes):
            out.setdefault(system, {})[name] = value
    return out


def version_report(settings: Any, version: int) -> dict[str, Any]:
    """:meth:`Registry.report` for the registry the settings name (``home``, ``mlflow_tracking_uri``):
    what an admin page shows for one version (metrics, fairness, hire rates, decision)."""
    return Registry.for_home(settings.home, settings.mlflow_tracking_uri).report(version)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
