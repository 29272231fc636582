"""Learning to rank from placement outcomes: labels, split, train, evaluate, register.

- Labels: each (vacancy, worker) pair gets the grade of the furthest stage it reached
  (:data:`GRADES`: hired, departed and completed 3 > interviewed and offered 2 > shortlisted 1 >
  rejected and withdrew 0). A rejection does not erase progress: shortlisted then rejected is 1; a pair known
  only as rejected or withdrawn is 0.
- Split: a vacancy is held out when a seeded hash of its id falls under ``holdout`` (a grouped split
  with a fixed seed that stays put as outcomes grow, so a vacancy held out today is held out for the
  next version too, and champion and challenger meet on the same vacancies). GroupKFold on the rest
  gives cross-validated figures.
- Model: :class:`~sepadan.models.ranker.MonotoneRanker` on :data:`~sepadan.models.features.RANKER_FEATURES`
  with the domain's directions (monotone, additive, in [0, 1]), fitted pairwise on each vacancy's
  judged (shown) candidates, its weights blended with the transparent score's at the anchor weight
  chosen on validation folds of the training part by the promotion rule's criteria
  (:mod:`sepadan.models.selection`).
- Cross-validation over all vacancies with outcomes (:mod:`sepadan.models.crossval`): the same
  figures with intervals over every vacancy, reported beside the held-out ones; the promotion
  rule's fairness condition reads them (``cv_all``; off: the held-out split's).
- Metrics on the held-out vacancies, for the new ranker, the transparent scorer and the current
  champion alike: NDCG@10 (graded), MAP and Recall@k (relevant: hired or beyond) re-ranking each
  vacancy's judged candidates (:mod:`sepadan.evaluation.metrics`, the one implementation); on each
  held-out vacancy's eligible shortlist, the share of its hires in the top 10 and 30, naive and
  inverse-propensity weighted (:mod:`sepadan.models.offline`), and exposure by gender, age band and
  province (:mod:`sepadan.models.fairness`).
- Promotion: :mod:`sepadan.models.promotion` decides; the run, the decision and its reason go to
  MLflow.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sepadan.evaluation.metrics import average_precision, ndcg_at_k, recall_at_k
from sepadan.matching.matcher import Matcher
from sepadan.matching.scorer import TransparentScorer
from sepadan.models.features import DIRECTIONS, FEATURES, RANKER_FEATURES, feature_matrix, pair_features, pair_for
from sepadan.models.crossval import cross_validated
from sepadan.models.fairness import MIN_VACANCIES
from sepadan.models.offline import Placements, Pools, Propensity
from sepadan.models.ranker import MonotoneRanker
from sepadan.models.selection import PoolFeatures, choose_anchor_weight
from sepadan.models.registry import Registry, RunRecord, VersionInfo
from sepadan.records import Outcome

log = logging.getLogger(__name__)
GRADES = {"rejected": 0, "withdrew": 0, "shortlisted": 1, "interviewed": 2, "offered": 2, "hired": 3,
          "departed": 3, "completed": 3}
RELEVANT = 3  # hired or beyond: relevant for MAP and Recall@k
PRIMARY = "ndcg_at_10"


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    holdout: float = 0.2
    seed: int = 20261123
    alpha: float = 1e-3
    max_pairs_per_group: int | None = 500
    cv_folds: int = 5
    recall_ks: tuple[int, ...] = (1, 3)
    shortlist_ks: tuple[int, ...] = (10, 30)
    skew_k: int = 10
    logging_depth: int = 100  # ranks of the logging policy's list looked at for propensities
    propensity: Propensity = Propensity()
    fairness_tolerance: float = 0.05  # the champion moves only if no fairness figure worsens by more
    skew_min_vacancies: int = MIN_VACANCIES  # a group's mean Skew@k enters max |Skew@k| from this many vacancies
    bootstrap_rounds: int = 2000
    unshown: int = 0  # per training vacancy, the logging policy's top this many without an outcome: grade 0
    ips: bool = False  # weigh each training row by 1 / propensity of its rank in the logging policy's list
    anchor: str | None = "transparent_score"  # the feature the learned weights are blended with
    anchor_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75)  # candidates, chosen on validation folds
    cv_all: bool = True  # also cross-validate over all vacancies with outcomes (crossval)

    def params(self) -> dict[str, Any]:
        p = self.propensity
        return {"holdout": self.holdout, "seed": self.seed, "alpha": self.alpha,
                "max_pairs_per_group": self.max_pairs_per_group, "cv_folds": self.cv_folds,
                "logging_depth": self.logging_depth, "propensity": f"max({p.floor}, min(1, ({p.r0}/r)^{p.eta}))",
                "fairness_tolerance": self.fairness_tolerance, "skew_min_vacancies": self.skew_min_vacancies,
                "bootstrap_rounds": self.bootstrap_rounds,
                "unshown": self.unshown, "ips": self.ips, "anchor": self.anchor,
                "anchor_weights": ",".join(f"{a:g}" for a in self.anchor_weights), "cv_all": self.cv_all}


@dataclass(frozen=True, slots=True)
class Dataset:
    """Labelled pairs as features: never personal data (ids, grades and numbers only)."""

    vacancy_ids: np.ndarray
    worker_ids: np.ndarray
    X: np.ndarray
    y: np.ndarray
    features: tuple[str, ...] = FEATURES
    skipped: int = 0
    weights: np.ndarray | None = None  # one per row (e.g. inverse propensities); None: all 1

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> Dataset:
        return replace(self, vacancy_ids=self.vacancy_ids[mask], worker_ids=self.worker_ids[mask],
                       X=self.X[mask], y=self.y[mask],
                       weights=None if self.weights is None else self.weights[mask])

    def plus(self, other: Dataset) -> Dataset:
        """This dataset's rows followed by ``other``'s (same features)."""
        def cat(a: np.ndarray | None, b: np.ndarray | None, n: int, m: int) -> np.ndarray | None:
            if a is None and b is None:
                return None
            return np.concatenate([np.ones(n) if a is None else a, np.ones(m) if b is None else b])

        return replace(self, vacancy_ids=np.concatenate([self.vacancy_ids, other.vacancy_ids]),
                       worker_ids=np.concatenate([self.worker_ids, other.worker_ids]),
                       X=np.vstack([self.X, other.X]), y=np.concatenate([self.y, other.y]),
                       weights=cat(self.weights, other.weights, len(self), len(other)))

    def column(self, name: str) -> np.ndarray:
        return self.X[:, self.features.index(name)]

    def columns(self, names: Sequence[str]) -> np.ndarray:
        missing = [f for f in names if f not in self.features]
        if missing:
            raise ValueError(f"the model reads features this version does not compute: {missing}")
        return self.X[:, [self.features.index(n) for n in names]]

    def frame(self, names: Sequence[str] = RANKER_FEATURES) -> Any:
        import pandas as pd

        return pd.DataFrame(self.columns(names), columns=list(names))

    def digest(self) -> str:
        """sha256 over the sorted ``vacancy_id<TAB>worker_id<TAB>label`` lines."""
        lines = sorted(f"{v}\t{w}\t{int(y)}" for v, w, y in zip(self.vacancy_ids, self.worker_ids, self.y))
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def labels(outcomes: Iterable[Outcome]) -> dict[tuple[str, str], int]:
    """``{(vacancy_id, worker_id): grade}``: the furthest stage each pair reached."""
    out: dict[tuple[str, str], int] = {}
    for o in outcomes:
        grade = GRADES.get(o.stage)
        if grade is None:
            raise ValueError(f"unknown outcome stage '{o.stage}'")
        key = (o.vacancy_id, o.worker_id)
        out[key] = max(out.get(key, grade), grade)
    return out


def build_dataset(matcher: Matcher, graded: Mapping[tuple[str, str], int],
                  transparent: TransparentScorer) -> Dataset:
    """Features for every labelled pair whose worker and vacancy are in the matcher."""
    keys = sorted(k for k in graded if k[0] in matcher.vacancies.positions and k[1] in matcher.workers.positions)
    skipped = len(graded) - len(keys)
    if skipped:
        log.warning("%d labelled pairs name a worker or vacancy that is not in the store; left out", skipped)
    rows = [pair_features(pair_for(matcher, w, v), matcher.ctx, transparent) for v, w in keys]
    return Dataset(np.array([v for v, _ in keys], dtype=object), np.array([w for _, w in keys], dtype=object),
                   feature_matrix(rows), np.array([graded[k] for k in keys], dtype=np.int64), FEATURES, skipped)


def with_unshown(matcher: Matcher, data: Dataset, graded: Mapping[tuple[str, str], int],
                 transparent: TransparentScorer, config: TrainingConfig, *, placements: Any = None) -> Dataset:
    """``data`` plus, for each of its vacancies, the eligible workers in the logging policy's top
    ``config.unshown`` (the transparent scorer's shortlist) that have no outcome, as grade 0; with
    ``config.ips`` every row weighs ``1 / propensity`` of the rank it was shown at (the outcome
    rows' ``shown_rank`` where recorded, else its rank in that list; not in it: the rank after its end)."""
    from sepadan.models.offline import Pools, rank_shortlists

    if config.unshown <= 0 and not config.ips:
        return data
    vids = sorted(set(data.vacancy_ids))
    pools = Pools.build(matcher, vids, graded, relevant=RELEVANT, placements=placements)
    depth = max(config.unshown, config.logging_depth if config.ips else 0)
    logged = rank_shortlists(matcher, transparent, pools, k=depth)
    keys = sorted((v, w) for v, ranked in logged.items() for w in ranked[: config.unshown] if (v, w) not in graded)
    rows = [pair_features(pair_for(matcher, w, v), matcher.ctx, transparent) for v, w in keys]
    extra = Dataset(np.array([v for v, _ in keys], dtype=object), np.array([w for _, w in keys], dtype=object),
                    feature_matrix(rows), np.zeros(len(keys), dtype=np.int64), data.features)
    out = data.plus(extra) if keys else data
    if not config.ips:
        return out
    position = {(v, w): i for v, ranked in logged.items() for i, w in enumerate(ranked, start=1)}
    shown = placements.shown if placements is not None else {}
    ranks = [shown.get((v, w)) or position.get((v, w), len(logged.get(v, ())) + 1)
             for v, w in zip(out.vacancy_ids, out.worker_ids)]
    return replace(out, weights=np.array([1.0 / config.propensity(r) for r in ranks]))


def holdout_mask(vacancy_ids: Sequence[str], share: float, seed: int) -> np.ndarray:
    """True for the rows of held-out vacancies: ``sha256(seed:vacancy_id)`` under ``share``."""
    if not 0 < share < 1:
        raise ValueError("the held-out share must be between 0 and 1")
    cache: dict[str, bool] = {}
    for vid in set(vacancy_ids):
        h = int(hashlib.sha256(f"{seed}:{vid}".encode()).hexdigest()[:12], 16)
        cache[vid] = h / 16**12 < share
    return np.array([cache[v] for v in vacancy_ids], dtype=bool)


# --- metrics on the judged candidates -------------------------------------------------------------


def ranking_metrics(scores: np.ndarray, data: Dataset, *, recall_ks: Sequence[int] = (1, 3),
                    k: int = 10) -> dict[str, float]:
    """Mean NDCG@k (graded, linear gains), MAP and Recall@k over the vacancies of ``data``, each
    vacancy's judged candidates ranked by ``scores`` (ties broken by worker id, as the matcher does).
    A vacancy with no positive grade has no NDCG, one with nobody hired no AP or recall."""
    per = per_vacancy(scores, data, recall_ks=recall_ks, k=k)
    out = {name: float(np.mean(list(values.values()))) for name, values in per.items() if values}
    out["vacancies"] = float(len(per[f"ndcg_at_{k}"]))
    return out


def per_vacancy(scores: np.ndarray, data: Dataset, *, recall_ks: Sequence[int] = (1, 3),
                k: int = 10) -> dict[str, dict[str, float]]:
    """``{metric: {vacancy_id: value}}`` behind :func:`ranking_metrics`."""
    per: dict[str, dict[str, float]] = {f"ndcg_at_{k}": {}, "map": {}, **{f"recall_at_{r}": {} for r in recall_ks}}
    for rows in _groups(data.vacancy_ids):
        vid = data.vacancy_ids[rows[0]]
        order = rows[np.lexsort((data.worker_ids[rows].astype(str), -scores[rows]))]
        ranked = [str(w) for w in data.worker_ids[order]]
        grades = {str(w): float(g) for w, g in zip(data.worker_ids[order], data.y[order])}
        if max(grades.values()) > 0:
            per[f"ndcg_at_{k}"][vid] = ndcg_at_k(ranked, grades, k)
        hired = {w for w, g in grades.items() if g >= RELEVANT}
        if hired:
            per["map"][vid] = average_precision(ranked, hired)
            for r in recall_ks:
                per[f"recall_at_{r}"][vid] = recall_at_k(ranked, hired, r)
    return per


def _groups(ids: np.ndarray) -> list[np.ndarray]:
    index: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(ids):
        index[v].append(i)
    return [np.array(rows) for _, rows in sorted(index.items())]


# --- training -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Figures for one system on the held-out vacancies."""

    name: str
    ranking: dict[str, float]
    shortlist: dict[str, float] = field(default_factory=dict)
    scores: np.ndarray | None = field(default=None, repr=False, compare=False)  # one per held-out row
    per_vacancy: dict[str, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)

    def metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}/{k}": v for k, v in {**self.ranking, **self.shortlist}.items()}


@dataclass(frozen=True, slots=True)
class TrainingResult:
    model: MonotoneRanker
    train: Dataset
    holdout: Dataset
    ranker: Evaluation
    transparent: Evaluation
    cv: dict[str, float]
    random: Evaluation  # the floor: the judged candidates in random order (mean of seeded shuffles)
    choice: Any = None  # selection.Choice: the anchor weight and the candidates' validation figures


def fit_ranker(data: Dataset, config: TrainingConfig, anchor_weight: float = 0.0) -> MonotoneRanker:
    model = MonotoneRanker(directions=DIRECTIONS, alpha=config.alpha,
                           max_pairs_per_group=config.max_pairs_per_group, random_state=config.seed,
                           anchor=config.anchor, anchor_weight=anchor_weight)
    return model.fit(data.frame(), data.y, data.vacancy_ids, sample_weight=data.weights)


def cross_validate(data: Dataset, config: TrainingConfig, *, judged: int | None = None) -> dict[str, float]:
    """GroupKFold by vacancy on ``data``: mean and std of NDCG@10 for the ranker and the transparent
    score, each fold fitted on all its rows and measured on the judged ones (the first ``judged``
    rows of ``data``; all when None)."""
    from sklearn.model_selection import GroupKFold

    folds = min(config.cv_folds, len(set(data.vacancy_ids)))
    if folds < 2:
        return {}
    figures: dict[str, list[float]] = defaultdict(list)
    for train_rows, test_rows in GroupKFold(n_splits=folds).split(data.X, data.y, data.vacancy_ids):
        part = data.subset(test_rows if judged is None else test_rows[test_rows < judged])
        try:
            model = fit_ranker(data.subset(train_rows), config)
        except ValueError:
            continue
        for name, scores in (("ranker", model.predict(part.frame())), ("transparent", part.column("transparent_score"))):
            value = ranking_metrics(scores, part).get(PRIMARY)
            if value is not None:
                figures[name].append(value)
    out = {}
    for name, values in figures.items():
        out[f"cv/{name}/{PRIMARY}_mean"] = float(np.mean(values))
        out[f"cv/{name}/{PRIMARY}_std"] = float(np.std(values))
    out["cv/folds"] = float(folds)
    return out


def evaluation(name: str, scores: np.ndarray, held: Dataset, config: TrainingConfig) -> Evaluation:
    return Evaluation(name, ranking_metrics(scores, held, recall_ks=config.recall_ks), scores=scores,
                      per_vacancy=per_vacancy(scores, held, recall_ks=config.recall_ks))


def train(data: Dataset, config: TrainingConfig, *, augment: Any = None, choose: Any = None) -> TrainingResult:
    """Split by vacancy, cross-validate on the training part, fit, and score the held-out part.
    ``augment`` (optional) turns the training part into the rows to fit on (:func:`with_unshown`);
    ``choose`` (optional) picks the anchor weight on the training part (``selection.Choice``)."""
    mask = holdout_mask(list(data.vacancy_ids), config.holdout, config.seed)
    train_part, held = data.subset(~mask), data.subset(mask)
    if len(train_part) == 0 or len(held) == 0:
        raise ValueError(f"the split left {len(train_part)} training and {len(held)} held-out pairs; "
                         "more outcomes (or another --holdout) are needed")
    model, choice, train_part = make_ranker(train_part, config, augment=augment, choose=choose)
    cv = cross_validate(train_part, config)
    if choice is not None and choice.candidates:  # the candidates' validation figures, and the one chosen
        cv.update({f"select/{c}/{k}": v for c, figs in choice.candidates.items() for k, v in figs.items()})
        cv["select/anchor_weight"] = float(model.anchor_weight)
    ranker = evaluation("ranker", model.predict(held.frame()), held, config)
    transparent = evaluation("transparent", held.column("transparent_score"), held, config)
    log.info("held-out %s: ranker %.4f, transparent %.4f", PRIMARY, ranker.ranking.get(PRIMARY, float("nan")),
             transparent.ranking.get(PRIMARY, float("nan")))
    return TrainingResult(model, train_part, held, ranker, transparent, cv, random_order(held, config), choice)


def make_ranker(part: Dataset, config: TrainingConfig, *, augment: Any = None, choose: Any = None
                ) -> tuple[MonotoneRanker, Any, Dataset]:
    """The ranker a version is made of from the judged pairs ``part``: the anchor weight chosen on
    ``part`` (by ``choose``; the first candidate without it), then fitted on ``part`` augmented;
    returns the model, the choice and the rows it was fitted on."""
    choice = choose(part) if choose is not None else None
    weight = choice.anchor_weight if choice is not None else config.anchor_weights[0]
    rows = augment(part) if augment is not None and len(part) else part
    return fit_ranker(rows, config, anchor_weight=weight), choice, rows


def _progress(what: str, progress: Any = None) -> Any:
    """A ``(done, total)`` callback that logs every 50 and passes each step on to ``progress``
    (``(label, done, total)``, the engine's progress bars) when given."""
    def report(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            log.info("%s: %d of %d", what, done, total)
        if progress is not None:
            progress(what, done, total)
    return report


def random_order(data: Dataset, config: TrainingConfig, *, rounds: int = 50) -> Evaluation:
    """The metrics of ranking each vacancy's judged candidates at random (the mean of ``rounds``
    seeded shuffles): on short judged lists NDCG has a high floor, and this says where it is."""
    rng = np.random.default_rng(config.seed)
    runs = [ranking_metrics(rng.random(len(data)), data, recall_ks=config.recall_ks) for _ in range(rounds)]
    return Evaluation("random order", {k: float(np.mean([r[k] for r in runs])) for k in runs[0]})


def score_with(model: MonotoneRanker, features: Sequence[str], data: Dataset) -> np.ndarray:
    """A (possibly older) model's scores for ``data``, reading the columns it was trained on."""
    return model.predict_array(data.columns(features))


def importance_figure(model: MonotoneRanker, *, title: str = "sepadan-ranker") -> Any:
    """A horizontal bar chart of the ranker's weights (a matplotlib Figure)."""
    from matplotlib.figure import Figure

    weights = sorted(model.importances().items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(7, 0.3 * len(weights) + 1.2), dpi=100)
    ax = fig.add_subplot()
    ax.barh([f"{n} ({'+' if DIRECTIONS.get(n, 1) > 0 else '-'})" for n, _ in weights], [w for _, w in weights],
            color="#2a7ab9")
    ax.set_xlabel("weight (non-negative, sums to 1); (+) more is better, (-) less is better")
    ax.set_title(f"{title}: feature weights")
    fig.tight_layout()
    return fig


# --- compare with the champion, register, promote ----------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """What ``sepadan train`` did: the new version, what it was compared with, and the decision."""

    version: VersionInfo
    result: TrainingResult
    ranker: Evaluation
    transparent: Evaluation
    baseline: Evaluation  # the current champion on the same split (the transparent scorer if none)
    beats: bool  # the promotion rule holds (gain interval above zero, fairness within tolerance)
    promoted: bool
    digest: str
    delta: dict[str, float] = field(default_factory=dict)  # new minus baseline, 90% intervals
    reason: str = ""
    data_figures: dict[str, float] = field(default_factory=dict)  # hire rates of the outcomes
    config: TrainingConfig | None = None

    @property
    def compared_with(self) -> str:
        return self.baseline.name


def train_and_register(matcher: Matcher, outcomes: Iterable[Outcome], registry: Registry,
                       transparent: TransparentScorer, config: TrainingConfig = TrainingConfig(), *,
                       promote: bool = True, params: Mapping[str, Any] | None = None,
                       progress: Any = None) -> TrainingOutcome:
    """Train on the outcomes, evaluate beside the transparent scorer and the current champion on the
    same held-out vacancies, log and register the new version, and move ``champion`` to it only if
    the promotion rule holds (:func:`sepadan.models.promotion.decide`); otherwise the version is the
    ``challenger``, and the reason is logged. ``progress`` (optional, ``(label, done, total)``) hears
    of the long steps: the pool features and the cross-validation folds."""
    from sepadan.models import promotion

    outcomes = list(outcomes)
    graded, placements = labels(outcomes), Placements.of(outcomes)
    data = build_dataset(matcher, graded, transparent)
    pools = Pools.build(matcher, sorted(set(data.vacancy_ids)), graded, relevant=RELEVANT, placements=placements)

    def augment(part: Dataset) -> Dataset:
        return with_unshown(matcher, part, graded, transparent, config, placements=placements)

    choose, make = None, None
    if len(config.anchor_weights) > 1 or config.cv_all:
        cache = PoolFeatures.build(matcher, pools, transparent,
                                   progress=_progress("pool features (vacancies)", progress))

        def choose(part: Dataset) -> Any:
            return choose_anchor_weight(part, lambda d, a: fit_ranker(augment(d), config, a), matcher=matcher,
                                        pools=pools, cache=cache, shown=placements.shown, config=config)

        def make(part: Dataset) -> MonotoneRanker:
            return make_ranker(part, config, augment=augment, choose=choose)[0]

    result = train(data, config, augment=augment, choose=choose if len(config.anchor_weights) > 1 else None)
    if config.cv_all and make is not None:
        result = replace(result, cv={**result.cv, **cross_validated(
            matcher, data, transparent, config, pools=pools, shown=placements.shown, make=make,
            progress=_progress("cross-validation (folds)", progress))})
    board = promotion.compare(matcher, result, graded, registry, transparent, config, placements=placements)
    decision = promotion.decide(board, config)
    data_figures = promotion.data_figures(matcher, graded, relevant=RELEVANT)
    promoted = decision.promote and promote
    reason = decision.reason if promote or not decision.promote else f"{decision.reason} (--no-promote given)"
    metrics = {**board.metrics(), **result.cv, **{f"data/{k}": v for k, v in data_figures.items()},
               "train/pairs": float(len(result.train)), "holdout/pairs": float(len(result.holdout)),
               "train/vacancies": float(len(set(result.train.vacancy_ids))),
               "holdout/vacancies": float(len(set(result.holdout.vacancy_ids))),
               "train/ranker_pairs": float(result.model.n_pairs_)}
    tags = {"data_digest": data.digest(), "train_digest": result.train.digest(),
            "holdout_digest": result.holdout.digest(), "compared_with": board.baseline.name,
            "beats_champion": str(decision.promote).lower(), "promoted": str(promoted).lower(),
            "decision": "champion" if promoted else "challenger", "decision_reason": reason[:5000],
            "primary_metric": PRIMARY, "outcome_pairs_skipped": str(data.skipped),
            "blend_choice": result.choice.reason[:5000] if result.choice is not None else "none"}
    record = RunRecord(name=f"monotone-pairwise alpha={config.alpha}", model=result.model, metrics=metrics,
                       tags=tags, figure=importance_figure(result.model),
                       params={**config.params(), "model": "sepadan.models.ranker.MonotoneRanker",
                               "features": ",".join(RANKER_FEATURES), "n_features": len(RANKER_FEATURES),
                               "transparent_version": transparent.version, **(params or {})},
                       report={"metrics": metrics, "tags": tags, "weights": result.model.importances(),
                               "anchor_weight": float(result.model.anchor_weight),
                               "directions": {n: DIRECTIONS[n] for n in RANKER_FEATURES},
                               "fairness": board.fairness(), "data": data_figures,
                               "decision": {"promoted": promoted, "reason": reason}})
    version = registry.log_run(record)
    version = registry.promote(version.version, reason=reason) if promoted else \
        registry.mark_challenger(version.version, reason=reason)
    log.info("%s: %s", version.label, reason)
    return TrainingOutcome(version, result, board.ranker, board.transparent, board.baseline, decision.promote,
                           promoted, data.digest(), board.delta, reason, data_figures, config)
