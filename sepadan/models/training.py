"""Learning to rank from placement outcomes: labels, split, train, evaluate, fairness, champion.

- Labels: each (vacancy, worker) pair gets the grade of the furthest stage it reached
  (:data:`GRADES`: hired, departed and completed 3 > interviewed 2 > shortlisted 1 > rejected and
  withdrew 0). A rejection does not erase progress: shortlisted then rejected is 1; a pair known
  only as rejected or withdrawn is 0.
- Split: a vacancy is held out when a seeded hash of its id falls under ``holdout`` (a grouped split
  with a fixed seed that stays put as outcomes grow, so a vacancy held out today is held out for the
  next version too, and champion and challenger meet on the same vacancies). GroupKFold on the rest
  gives cross-validated figures.
- Metrics on the held-out vacancies, for the new ranker, the transparent scorer and the current
  champion alike: NDCG@10 (graded), MAP and Recall@k (relevant: hired or beyond) re-ranking each
  vacancy's judged candidates; and on each held-out vacancy's eligible shortlist, Recall@k of its
  hired workers and exposure in the top 10 (Skew@10) by gender and by province.

Gender and region are read here only to measure exposure, never as features.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sepadan.matching.matcher import Matcher, Scorer
from sepadan.matching.scorer import TransparentScorer
from sepadan.models.features import FEATURES, feature_matrix, pair_features, pair_for
from sepadan.models.ranker import PairwiseRanker
from sepadan.models.registry import Registry, RunRecord, VersionInfo
from sepadan.models.serving import RankerScorer
from sepadan.records import Outcome

log = logging.getLogger(__name__)
GRADES = {"rejected": 0, "withdrew": 0, "shortlisted": 1, "interviewed": 2, "hired": 3, "departed": 3,
          "completed": 3}
RELEVANT = 3  # hired or beyond: relevant for MAP and Recall@k
PRIMARY = "ndcg_at_10"


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    holdout: float = 0.2
    seed: int = 20261123
    C: float = 0.1
    max_pairs_per_group: int | None = 500
    cv_folds: int = 5
    recall_ks: tuple[int, ...] = (1, 3)
    shortlist_ks: tuple[int, ...] = (10, 30)
    skew_k: int = 10
    min_improvement: float = 0.0  # the champion moves when NDCG@10 rises by more than this

    def params(self) -> dict[str, Any]:
        return {"holdout": self.holdout, "seed": self.seed, "C": self.C,
                "max_pairs_per_group": self.max_pairs_per_group, "cv_folds": self.cv_folds,
                "min_improvement": self.min_improvement}


@dataclass(frozen=True, slots=True)
class Dataset:
    """Labelled pairs as features: never personal data (ids, grades and numbers only)."""

    vacancy_ids: np.ndarray
    worker_ids: np.ndarray
    X: np.ndarray
    y: np.ndarray
    features: tuple[str, ...] = FEATURES
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> Dataset:
        return replace(self, vacancy_ids=self.vacancy_ids[mask], worker_ids=self.worker_ids[mask],
                       X=self.X[mask], y=self.y[mask])

    def column(self, name: str) -> np.ndarray:
        return self.X[:, self.features.index(name)]

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.X, columns=list(self.features))

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


def holdout_mask(vacancy_ids: Sequence[str], share: float, seed: int) -> np.ndarray:
    """True for the rows of held-out vacancies: ``sha256(seed:vacancy_id)`` under ``share``."""
    if not 0 < share < 1:
        raise ValueError("the held-out share must be between 0 and 1")
    cache: dict[str, bool] = {}
    for vid in set(vacancy_ids):
        h = int(hashlib.sha256(f"{seed}:{vid}".encode()).hexdigest()[:12], 16)
        cache[vid] = h / 16**12 < share
    return np.array([cache[v] for v in vacancy_ids], dtype=bool)


# --- metrics ------------------------------------------------------------------------------------


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
        grades = data.y[order].astype(float)
        if grades.max() > 0:
            per[f"ndcg_at_{k}"][vid] = _ndcg(grades, k)
        hits = grades >= RELEVANT
        if hits.any():
            per["map"][vid] = _average_precision(hits)
            for r in recall_ks:
                per[f"recall_at_{r}"][vid] = float(hits[:r].sum() / hits.sum())
    return per


def delta_interval(new: np.ndarray, old: np.ndarray, data: Dataset, *, seed: int, rounds: int = 2000,
                   k: int = 10) -> dict[str, float]:
    """NDCG@k of ``new`` minus ``old`` on the same vacancies, with a 90% paired bootstrap interval over
    vacancies: how far the held-out figures can be trusted (small splits are noisy)."""
    a, b = per_vacancy(new, data, k=k)[f"ndcg_at_{k}"], per_vacancy(old, data, k=k)[f"ndcg_at_{k}"]
    diffs = np.array([a[v] - b[v] for v in sorted(a)])
    if len(diffs) == 0:
        return {}
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(rounds, len(diffs)))].mean(axis=1)
    low, high = np.percentile(means, [5, 95])
    return {f"delta_{PRIMARY}": float(diffs.mean()), f"delta_{PRIMARY}_p05": float(low),
            f"delta_{PRIMARY}_p95": float(high), "wins": float((diffs > 0).sum()),
            "ties": float((diffs == 0).sum()), "losses": float((diffs < 0).sum())}


def _groups(ids: np.ndarray) -> list[np.ndarray]:
    index: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(ids):
        index[v].append(i)
    return [np.array(rows) for _, rows in sorted(index.items())]


def _ndcg(grades: np.ndarray, k: int) -> float:
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    top = grades[:k]
    ideal = np.sort(grades)[::-1][:k]
    return float((top * discounts[: len(top)]).sum() / (ideal * discounts[: len(ideal)]).sum())


def _average_precision(hits: np.ndarray) -> float:
    ranks = np.flatnonzero(hits) + 1
    return float(np.mean(np.arange(1, len(ranks) + 1) / ranks))


def skew(top: Sequence[str], pool: Sequence[str], *, k: int) -> dict[str, float]:
    """Skew@k per group present in the pool: ``ln(share in the top k / share in the pool)``; a group
    absent from the top k counts with a share of ``1 / (2k)`` (bounded, not minus infinity)."""
    pool_counts, top_counts = Counter(pool), Counter(top[:k])
    n_top, n_pool = max(len(top[:k]), 1), len(pool)
    floor = 1.0 / (2 * k)
    return {g: math.log(max(top_counts[g] / n_top, floor) / (c / n_pool)) for g, c in pool_counts.items()}


def gender_of(worker: Any) -> str:
    return worker.gender or "unknown"


def province_of(worker: Any) -> str:
    return worker.region.split(".")[0] if worker.region else "unknown"


def shortlist_metrics(matcher: Matcher, scorer: Scorer, vacancy_ids: Iterable[str],
                      graded: Mapping[tuple[str, str], int], *, ks: Sequence[int] = (10, 30),
                      skew_k: int = 10) -> dict[str, float]:
    """On each vacancy's eligible shortlist ranked by ``scorer``: Recall@k of its hired workers and
    Skew@k by gender and by province (vacancies whose eligible pool is at most k are left out of
    Skew: their top k is the whole pool)."""
    m = Matcher(workers=matcher.workers, vacancies=matcher.vacancies, table=matcher.table, ctx=matcher.ctx,
                scorer=scorer, candidates=matcher.candidates)
    hired: dict[str, set[str]] = defaultdict(set)
    for (v, w), g in graded.items():
        if g >= RELEVANT:
            hired[v].add(w)
    recalls: dict[int, list[float]] = defaultdict(list)
    skews: dict[str, list[float]] = defaultdict(list)
    counted = 0
    for vid in sorted(set(vacancy_ids)):
        vpos = m.vacancies.position(vid, "vacancy")
        pool = np.flatnonzero(m.table.mask(m.vacancies.records[vpos], m.vacancies.profiles[vpos], m.ctx))
        if len(pool) == 0:
            continue
        counted += 1
        ranked = [r.worker_id for r in m.shortlist(vid, k=max((*ks, skew_k))).results]
        for k in ks if hired.get(vid) else ():
            recalls[k].append(len(hired[vid] & set(ranked[:k])) / len(hired[vid]))
        if len(pool) > skew_k:
            _exposure([m.workers.records[m.workers.positions[w]] for w in ranked[:skew_k]],
                      [m.workers.records[p] for p in pool], skew_k, skews)
    out = {f"shortlist_recall_at_{k}": float(np.mean(v)) for k, v in recalls.items()}
    out["shortlist_vacancies"] = float(counted)
    out["shortlist_vacancies_with_hired"] = float(len(recalls.get(ks[0], ())))
    out.update({f"skew_at_{skew_k}/{key}": float(np.mean(values)) for key, values in skews.items()})
    for attr in ("gender", "province"):
        values = [v for key, v in out.items() if key.startswith(f"skew_at_{skew_k}/{attr}/")]
        if values:
            out[f"skew_at_{skew_k}/{attr}/max_abs"] = float(max(abs(v) for v in values))
    return out


def _exposure(top: list[Any], pool: list[Any], k: int, skews: dict[str, list[float]]) -> None:
    """Add one vacancy's Skew@k per gender and per province to ``skews``."""
    for attr, group_of in (("gender", gender_of), ("province", province_of)):
        for group, value in skew([group_of(w) for w in top], [group_of(w) for w in pool], k=k).items():
            skews[f"{attr}/{group}"].append(value)


# --- training -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Figures for one system on the held-out vacancies."""

    name: str
    ranking: dict[str, float]
    shortlist: dict[str, float] = field(default_factory=dict)
    scores: np.ndarray | None = field(default=None, repr=False, compare=False)  # one per held-out row

    def metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}/{k}": v for k, v in {**self.ranking, **self.shortlist}.items()}


@dataclass(frozen=True, slots=True)
class TrainingResult:
    model: PairwiseRanker
    train: Dataset
    holdout: Dataset
    ranker: Evaluation
    transparent: Evaluation
    cv: dict[str, float]
    random: Evaluation  # the floor: the judged candidates in random order (mean of seeded shuffles)


def fit_ranker(data: Dataset, config: TrainingConfig) -> PairwiseRanker:
    model = PairwiseRanker(C=config.C, max_pairs_per_group=config.max_pairs_per_group, random_state=config.seed)
    return model.fit(data.frame(), data.y, data.vacancy_ids)


def cross_validate(data: Dataset, config: TrainingConfig) -> dict[str, float]:
    """GroupKFold by vacancy on ``data``: mean and std of NDCG@10 for the ranker and the transparent score."""
    from sklearn.model_selection import GroupKFold

    n_groups = len(set(data.vacancy_ids))
    folds = min(config.cv_folds, n_groups)
    if folds < 2:
        return {}
    figures: dict[str, list[float]] = defaultdict(list)
    for train, test in GroupKFold(n_splits=folds).split(data.X, data.y, data.vacancy_ids):
        part = data.subset(test)
        try:
            model = fit_ranker(data.subset(train), config)
        except ValueError:
            continue
        for name, scores in (("ranker", model.decision_function(part.frame())),
                             ("transparent", part.column("transparent_score"))):
            value = ranking_metrics(scores, part).get(PRIMARY)
            if value is not None:
                figures[name].append(value)
    out = {}
    for name, values in figures.items():
        out[f"cv/{name}/{PRIMARY}_mean"] = float(np.mean(values))
        out[f"cv/{name}/{PRIMARY}_std"] = float(np.std(values))
    out["cv/folds"] = float(folds)
    return out


def train(data: Dataset, config: TrainingConfig) -> TrainingResult:
    """Split by vacancy, cross-validate on the training part, fit, and score the held-out part."""
    mask = holdout_mask(list(data.vacancy_ids), config.holdout, config.seed)
    train_part, held = data.subset(~mask), data.subset(mask)
    if len(train_part) == 0 or len(held) == 0:
        raise ValueError(f"the split left {len(train_part)} training and {len(held)} held-out pairs; "
                         "more outcomes (or another --holdout) are needed")
    cv = cross_validate(train_part, config)
    model = fit_ranker(train_part, config)
    learned, plain = model.decision_function(held.frame()), held.column("transparent_score")
    ranker = Evaluation("ranker", ranking_metrics(learned, held, recall_ks=config.recall_ks), scores=learned)
    transparent = Evaluation("transparent", ranking_metrics(plain, held, recall_ks=config.recall_ks), scores=plain)
    log.info("held-out %s: ranker %.4f, transparent %.4f", PRIMARY, ranker.ranking.get(PRIMARY, float("nan")),
             transparent.ranking.get(PRIMARY, float("nan")))
    return TrainingResult(model, train_part, held, ranker, transparent, cv, random_order(held, config))


def random_order(data: Dataset, config: TrainingConfig, *, rounds: int = 50) -> Evaluation:
    """The metrics of ranking each vacancy's judged candidates at random (the mean of ``rounds``
    seeded shuffles): on short judged lists NDCG has a high floor, and this says where it is."""
    rng = np.random.default_rng(config.seed)
    runs = [ranking_metrics(rng.random(len(data)), data, recall_ks=config.recall_ks) for _ in range(rounds)]
    return Evaluation("random order", {k: float(np.mean([r[k] for r in runs])) for k in runs[0]})


def score_with(model: PairwiseRanker, features: Sequence[str], data: Dataset) -> np.ndarray:
    """A (possibly older) model's utilities for ``data``, reading the columns it was trained on."""
    missing = [f for f in features if f not in data.features]
    if missing:
        raise ValueError(f"the model reads features this version does not compute: {missing}")
    return model.decision_array(data.X[:, [data.features.index(f) for f in features]])


def importance_figure(model: PairwiseRanker, *, title: str = "sepadan-ranker") -> Any:
    """A horizontal bar chart of the ranker's weights on standardised features (a matplotlib Figure)."""
    from matplotlib.figure import Figure

    weights = sorted(model.importances().items(), key=lambda kv: abs(kv[1]))
    fig = Figure(figsize=(7, 0.3 * len(weights) + 1.2), dpi=100)
    ax = fig.add_subplot()
    ax.barh([n for n, _ in weights], [w for _, w in weights],
            color=["#2a7ab9" if w >= 0 else "#c0504d" for _, w in weights])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("weight on the standardised feature (pairwise logistic)")
    ax.set_title(f"{title}: feature weights")
    fig.tight_layout()
    return fig


# --- compare with the champion, register, promote ----------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """What ``sepadan train`` did: the new version, the figure it had to beat, and whether it won."""

    version: VersionInfo
    result: TrainingResult
    ranker: Evaluation
    transparent: Evaluation
    baseline: Evaluation  # the current champion on the same split (the transparent scorer if none)
    beats: bool
    promoted: bool
    digest: str
    delta: dict[str, float] = field(default_factory=dict)  # new minus baseline NDCG@10, 90% interval

    @property
    def compared_with(self) -> str:
        return self.baseline.name


def train_and_register(matcher: Matcher, outcomes: Iterable[Outcome], registry: Registry,
                       transparent: TransparentScorer, config: TrainingConfig = TrainingConfig(), *,
                       promote: bool = True, params: Mapping[str, Any] | None = None) -> TrainingOutcome:
    """Train on the outcomes, evaluate beside the transparent scorer and the current champion on the
    same held-out vacancies, log and register the new version, and move ``champion`` to it only if it
    beats the current champion (or, with none, the transparent scorer) on NDCG@10."""
    graded = labels(outcomes)
    data = build_dataset(matcher, graded, transparent)
    result = train(data, config)
    held = sorted(set(result.holdout.vacancy_ids))

    def on_shortlists(scorer: Scorer) -> dict[str, float]:
        return shortlist_metrics(matcher, scorer, held, graded, ks=config.shortlist_ks, skew_k=config.skew_k)

    ranker = replace(result.ranker, shortlist=on_shortlists(
        RankerScorer(result.model, transparent, version=f"{registry.name}/new")))
    plain = replace(result.transparent, name=transparent.version, shortlist=on_shortlists(transparent))
    baseline = _champion_on(registry, result.holdout, transparent, config, on_shortlists) or plain
    new, old = ranker.ranking.get(PRIMARY), baseline.ranking.get(PRIMARY)
    beats = new is not None and old is not None and new > old + config.min_improvement
    delta = {} if baseline.scores is None else delta_interval(ranker.scores, baseline.scores, result.holdout,
                                                                seed=config.seed)
    metrics = {**ranker.metrics("ranker"), **plain.metrics("transparent"), **baseline.metrics("champion"),
               **result.random.metrics("random"),
               **{f"compare/{k}": v for k, v in delta.items()}, **result.cv, "train/pairs": float(len(result.train)), "holdout/pairs": float(len(result.holdout)),
               "train/vacancies": float(len(set(result.train.vacancy_ids))), "holdout/vacancies": float(len(held)),
               "train/ranker_pairs": float(result.model.n_pairs_)}
    tags = {"data_digest": data.digest(), "train_digest": result.train.digest(),
            "holdout_digest": result.holdout.digest(), "compared_with": baseline.name,
            "beats_champion": str(beats).lower(), "promoted": str(beats and promote).lower(),
            "primary_metric": PRIMARY, "outcome_pairs_skipped": str(data.skipped)}
    record = RunRecord(name=f"pairwise-logistic C={config.C}", model=result.model, metrics=metrics, tags=tags,
                       params={**config.params(), "model": "sepadan.models.ranker.PairwiseRanker",
                               "features": ",".join(FEATURES), "n_features": len(FEATURES),
                               "transparent_version": transparent.version, **(params or {})},
                       figure=importance_figure(result.model),
                       report={"metrics": metrics, "tags": tags, "weights": result.model.importances()})
    version = registry.log_run(record)
    if beats and promote:
        version = registry.promote(version.version, reason=f"held-out {PRIMARY} {new:.4f} > {old:.4f} of "
                                                           f"{baseline.name} (same split)")
    return TrainingOutcome(version, result, ranker, plain, baseline, beats, beats and promote, data.digest(),
                           delta)


def _champion_on(registry: Registry, held: Dataset, transparent: TransparentScorer, config: TrainingConfig,
                 on_shortlists: Any) -> Evaluation | None:
    current = registry.champion_version()
    if current is None:
        return None
    loaded = registry.load(current)
    try:
        scores = score_with(loaded.model, loaded.features, held)
    except ValueError as exc:
        log.warning("cannot score %s on this split (%s): it stays champion unless promoted by hand",
                    loaded.label, exc)
        return Evaluation(loaded.label, {})
    return Evaluation(loaded.label, ranking_metrics(scores, held, recall_ks=config.recall_ks),
                      on_shortlists(RankerScorer.from_registry(loaded, transparent)), scores)
