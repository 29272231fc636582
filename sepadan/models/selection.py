"""Choosing how much of the transparent score the learned ranker keeps, on validation folds only.

The ranker fitted on the judged candidates learns the employers' preference among the workers
officers showed; it knows nothing of whom officers would show. Blending its weights with the
transparent score (:class:`~sepadan.models.ranker.MonotoneRanker`'s ``anchor_weight``) keeps the
list officers work from and lets the learned part reorder it. Which blend, is chosen here by the
promotion rule's own criteria, on the training vacancies only (never the held-out ones):

1. GroupKFold by vacancy over the training part; in each fold the ranker is fitted on the other
   folds, and every candidate anchor weight ranks the fold's vacancies: NDCG@10 on their judged
   candidates, and on their whole eligible pool (pair features computed once, :class:`PoolFeatures`)
   the hires in the top 10 and 30 (naive and IPS) and the exposure figures.
2. A candidate is **admissible** when no fairness figure (each group's mean Skew@10 over the
   groups measured on enough vacancies, NDKL@10; by gender, age band and province:
   :func:`sepadan.models.fairness.worse`) is worse than the transparent scorer's on the same
   validation vacancies by more than the tolerance.
3. The chosen candidate is the admissible one with the highest lower end of the 90% paired
   bootstrap interval of its NDCG@10 gain over the transparent scorer; with none admissible, the
   one with the largest anchor weight (closest to the transparent order), which the promotion rule
   then judges on the held-out vacancies like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sepadan.matching.matcher import Matcher
from sepadan.matching.scorer import TransparentScorer
from sepadan.models.fairness import worse
from sepadan.models.features import FEATURES, feature_matrix, pair_features, pair_for
from sepadan.models.offline import Pools, evaluate_shortlists, logged_ranks, paired_interval
from sepadan.models.ranker import MonotoneRanker, feature_names

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PoolFeatures:
    """Every eligible pool member's features per vacancy (ids in pool order), computed once: a
    ranker's list over the whole pool is then a matrix product (no retrieval step)."""

    ids: dict[str, np.ndarray]
    X: dict[str, np.ndarray]

    @classmethod
    def build(cls, matcher: Matcher, pools: Pools, transparent: TransparentScorer,
              progress: Callable[[int, int], None] | None = None) -> PoolFeatures:
        records, ids, X = matcher.workers.records, {}, {}
        for done, (vid, pool) in enumerate(sorted(pools.pools.items()), start=1):
            wids = [records[p].id for p in pool]
            rows = [pair_features(pair_for(matcher, w, vid), matcher.ctx, transparent) for w in wids]
            ids[vid], X[vid] = np.array(wids, dtype=object), feature_matrix(rows)
            if progress is not None:
                progress(done, len(pools.pools))
        return cls(ids, X)

    def rank(self, score: Callable[[np.ndarray], np.ndarray], vacancy_ids: Iterable[str], *, k: int
             ) -> dict[str, list[str]]:
        """Each vacancy's top ``k`` by ``score`` (rows of :data:`FEATURES`), rounded as the service
        rounds scores, ties by worker id."""
        out = {}
        for vid in vacancy_ids:
            if vid not in self.ids:
                continue
            scores = np.round(score(self.X[vid]), 4)
            order = np.lexsort((self.ids[vid].astype(str), -scores))
            out[vid] = [str(w) for w in self.ids[vid][order[:k]]]
        return out


def model_score(model: MonotoneRanker) -> Callable[[np.ndarray], np.ndarray]:
    cols = [FEATURES.index(n) for n in feature_names(model)]
    return lambda X: model.predict_array(X[:, cols])


def transparent_score(X: np.ndarray) -> np.ndarray:
    return X[:, FEATURES.index("transparent_score")]


@dataclass(frozen=True, slots=True)
class Choice:
    """The chosen anchor weight and every candidate's validation figures (for the report)."""

    anchor_weight: float
    reason: str
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)  # "0.50" -> figures


def choose_anchor_weight(train_part: Any, fit: Callable[[Any, float], MonotoneRanker], *, matcher: Matcher,
                         pools: Pools, cache: PoolFeatures, shown: Mapping[tuple[str, str], int],
                         config: Any) -> Choice:
    """The anchor weight among ``config.anchor_weights`` chosen as the module docstring says;
    ``fit(dataset, anchor_weight)`` fits a ranker, ``train_part`` is a training Dataset."""
    from sklearn.model_selection import GroupKFold

    from sepadan.models.training import PRIMARY, per_vacancy

    candidates = tuple(config.anchor_weights)
    vids = np.asarray(train_part.vacancy_ids)
    folds = min(config.cv_folds, len(set(vids)))
    if folds < 2 or len(candidates) == 1:
        return Choice(candidates[-1], "one candidate or too few vacancies to validate: taken as is")
    depth = max(*config.shortlist_ks, config.skew_k)
    ndcg: dict[float, dict[str, float]] = {a: {} for a in candidates}
    ranked: dict[float, dict[str, list[str]]] = {a: {} for a in candidates}
    for fit_rows, val_rows in GroupKFold(n_splits=folds).split(train_part.X, train_part.y, vids):
        try:
            model = fit(train_part.subset(fit_rows), 0.0)
        except ValueError:
            continue
        part = train_part.subset(val_rows)
        for a in candidates:
            blended = model.with_anchor_weight(a)
            ndcg[a].update(per_vacancy(blended.predict(part.frame(feature_names(blended))), part)[PRIMARY])
            ranked[a].update(cache.rank(model_score(blended), sorted(set(part.vacancy_ids)), k=depth))
    seen = sorted(set(vids))
    base_ndcg = per_vacancy(train_part.column("transparent_score"), train_part)[PRIMARY]
    logging_list = cache.rank(transparent_score, seen, k=max(config.logging_depth, depth))
    ranks = logged_ranks(logging_list, pools, shown)
    val_pools = pools.only(seen)

    def figures(lists: dict[str, list[str]]) -> dict[str, float]:
        return evaluate_shortlists(matcher, lists, val_pools, ranks, propensity=config.propensity,
                                   ks=config.shortlist_ks, today=matcher.ctx.today, skew_k=config.skew_k,
                                   skew_min_vacancies=config.skew_min_vacancies).figures

    base = figures({v: lst[:depth] for v, lst in logging_list.items()})
    table: dict[str, dict[str, float]] = {"transparent": {**_headline(base, config), f"{PRIMARY}": _mean(base_ndcg)}}
    admissible: list[tuple[float, float]] = []
    for a in candidates:
        found = figures(ranked[a])
        gain = paired_interval(ndcg[a], base_ndcg, seed=config.seed, rounds=config.bootstrap_rounds)
        failing = worse(found, base, tolerance=config.fairness_tolerance, k=config.skew_k,
                        min_vacancies=config.skew_min_vacancies)
        table[f"{a:.2f}"] = {**_headline(found, config), PRIMARY: _mean(ndcg[a]),
                             f"delta_{PRIMARY}_p05": gain.get("p05", float("nan")), "fair": float(not failing)}
        if not failing and gain:
            admissible.append((gain["p05"], a))
    if admissible:
        p05, chosen = max(admissible)
        reason = (f"anchor weight {chosen:.2f}: highest lower end of the {PRIMARY} gain interval ({p05:+.4f}) "
                  f"among the candidates fair on {len(seen)} validation vacancies ({folds} folds)")
    else:
        chosen = max(candidates)
        reason = (f"anchor weight {chosen:.2f}: no candidate held fairness on {len(seen)} validation vacancies; "
                  "the one closest to the transparent order")
    log.info("blend chosen on validation folds: %s", reason)
    return Choice(chosen, reason, table)


def _headline(figures: Mapping[str, float], config: Any) -> dict[str, float]:
    keys = [f"{kind}_recall_at_{k}" for kind in ("shortlist", "ips") for k in config.shortlist_ks]
    keys += [f"skew_at_{config.skew_k}/{a}/max_abs" for a in ("gender", "age_band", "province")]
    return {k: figures[k] for k in keys if k in figures}


def _mean(values: Mapping[str, float]) -> float:
    return float(np.mean(list(values.values()))) if values else float("nan")

