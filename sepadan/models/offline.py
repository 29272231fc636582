"""Offline evaluation on eligible shortlists, naive and counterfactual, with paired intervals.

Outcomes exist only for the workers an officer showed an employer, and officers show the top of a
list more often (position bias). So the share of hires a ranker puts in its top k is reported two
ways, on each held-out vacancy's eligible shortlist:

- **naive**: hired workers in the top k over the hired workers in the eligible pool;
- **inverse-propensity weighted** (IPS, self-normalised per vacancy; Joachims et al., WSDM 2017):
  each hire weighs ``1 / p(r)``, ``r`` the rank it was shown at, ``p(r) = max(floor, min(1,
  (r0 / r) ** eta))`` the chance that rank ``r`` is shown (position-based model; ``floor`` clips
  the weights). A hire shown low (rarely shown) stands for the many like it who were not. ``r`` is
  the outcome rows' ``shown_rank`` where they record it (:attr:`Placements.shown`); where they do
  not, the hire's rank in the transparent scorer's shortlist stands in for the officers' list, an
  approximation (the figures count how many hires had a recorded rank).

Hires outside today's eligible pool (a vacancy since closed, a waived rule) cannot be in any
eligible shortlist; they are counted (``hired_outside_pool``), not held against a ranker. A worker
placed on another vacancy before a vacancy's round began (:class:`Placements`: hired there on a
date before the first outcome on this one) was not a candidate for it, and is left out of its
pool and of every ranked list over it, as an officer would skip a worker already placed.
Differences between two systems come with a 90% paired bootstrap interval over vacancies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from sepadan.matching.matcher import Matcher, Scorer
from sepadan.models.fairness import MIN_VACANCIES, Exposure


@dataclass(frozen=True, slots=True)
class Propensity:
    """The chance that rank ``r`` of the logging policy's list is shown: ``min(1, (r0 / r) ** eta)``,
    at least ``floor`` (the demo's hiring process uses the same curve: ``sepadan.demo_hiring``)."""

    r0: float = 5.0
    eta: float = 1.5
    floor: float = 0.05

    def __call__(self, rank: int) -> float:
        return max(self.floor, min(1.0, (self.r0 / max(rank, 1)) ** self.eta))


@dataclass(frozen=True, slots=True)
class Placements:
    """When each vacancy's round began (its first outcome's date) and when each worker was hired
    where (the first dated stage of hired or beyond, per pair), from the outcome rows."""

    began: dict[str, date]
    hires: dict[str, tuple[tuple[date, str], ...]]  # worker -> ((date, vacancy), ...)
    shown: dict[tuple[str, str], int] = field(default_factory=dict)  # (vacancy, worker) -> recorded shown rank

    @classmethod
    def of(cls, outcomes: Iterable[Any], placed_stages: frozenset[str] = frozenset({"hired", "departed", "completed"})
           ) -> Placements:
        began: dict[str, date] = {}
        first: dict[tuple[str, str], date] = {}
        shown: dict[tuple[str, str], int] = {}
        for o in outcomes:
            rank = getattr(o, "shown_rank", None)
            if rank is not None:
                key = (o.vacancy_id, o.worker_id)
                shown[key] = min(shown.get(key, rank), rank)
            if o.date is None:
                continue
            began[o.vacancy_id] = min(began.get(o.vacancy_id, o.date), o.date)
            if o.stage in placed_stages:
                key = (o.worker_id, o.vacancy_id)
                first[key] = min(first.get(key, o.date), o.date)
        hires: dict[str, list[tuple[date, str]]] = defaultdict(list)
        for (w, v), d in first.items():
            hires[w].append((d, v))
        return cls(began, {w: tuple(sorted(h)) for w, h in hires.items()}, shown)

    def placed_before(self, vacancy_id: str) -> frozenset[str]:
        """The workers hired on another vacancy before ``vacancy_id``'s round began."""
        began = self.began.get(vacancy_id)
        if began is None:
            return frozenset()
        return frozenset(w for w, hires in self.hires.items()
                         if any(d < began and v != vacancy_id for d, v in hires))


@dataclass(frozen=True, slots=True)
class Pools:
    """Each vacancy's eligible pool (matcher positions) and hired workers, once for every system;
    ``placed``: per vacancy, the workers placed elsewhere before its round, out of its pool."""

    pools: dict[str, np.ndarray]
    hired: dict[str, frozenset[str]]
    outside: int  # hires (pairs) outside today's eligible pool
    placed: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, matcher: Matcher, vacancy_ids: Iterable[str], graded: Mapping[tuple[str, str], int], *,
              relevant: int, placements: Placements | None = None) -> Pools:
        hired: dict[str, set[str]] = defaultdict(set)
        for (v, w), g in graded.items():
            if g >= relevant:
                hired[v].add(w)
        pools, inside, placed, outside = {}, {}, {}, 0
        records = matcher.workers.records
        for vid in sorted(set(vacancy_ids)):
            vpos = matcher.vacancies.position(vid, "vacancy")
            v, vp = matcher.vacancies.records[vpos], matcher.vacancies.profiles[vpos]
            pool = np.flatnonzero(matcher.table.mask(v, vp, matcher.ctx))
            gone = placements.placed_before(vid) if placements is not None else frozenset()
            if gone:
                gone = gone & {records[p].id for p in pool}
                pool = np.array([p for p in pool if records[p].id not in gone], dtype=np.int64)
            if len(pool) == 0:
                outside += len(hired.get(vid, ()))
                continue
            ids = {records[p].id for p in pool}
            pools[vid] = pool
            placed[vid] = gone
            inside[vid] = frozenset(hired.get(vid, set()) & ids)
            outside += len(hired.get(vid, set()) - ids)
        return cls(pools, inside, outside, placed)

    def only(self, vacancy_ids: Iterable[str]) -> Pools:
        """These pools restricted to ``vacancy_ids`` (``outside`` not carried over)."""
        keep = set(vacancy_ids)
        return Pools({v: p for v, p in self.pools.items() if v in keep},
                     {v: h for v, h in self.hired.items() if v in keep}, 0,
                     {v: g for v, g in self.placed.items() if v in keep})


@dataclass(slots=True)
class ShortlistEval:
    """One system's ranked shortlists over :class:`Pools`: figures and per-vacancy values."""

    ranked: dict[str, list[str]]
    per_vacancy: dict[str, dict[str, float]] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)


def rank_shortlists(matcher: Matcher, scorer: Scorer, pools: Pools, *, k: int) -> dict[str, list[str]]:
    """Each vacancy's eligible shortlist (top ``k``) ranked by ``scorer``, as the service ranks it,
    less the workers placed elsewhere before the vacancy's round (the shortlist asks for as many more)."""
    m = Matcher(workers=matcher.workers, vacancies=matcher.vacancies, table=matcher.table, ctx=matcher.ctx,
                scorer=scorer, candidates=matcher.candidates)
    out = {}
    for vid in pools.pools:
        gone = pools.placed.get(vid, frozenset())
        ranked = [r.worker_id for r in m.shortlist(vid, k=k + len(gone)).results if r.worker_id not in gone]
        out[vid] = ranked[:k]
    return out


def logged_ranks(logging: Mapping[str, list[str]], pools: Pools,
                 shown: Mapping[tuple[str, str], int] | None = None) -> dict[tuple[str, str], int]:
    """Each hire's rank as shown: the recorded ``shown`` rank where there is one, else its rank in
    the ``logging`` list (the list's length + 1 when not in it)."""
    out = {}
    shown = shown or {}
    for vid, hired in pools.hired.items():
        position = {w: i for i, w in enumerate(logging.get(vid, ()), start=1)}
        for w in hired:
            out[(vid, w)] = shown.get((vid, w)) or position.get(w, len(logging.get(vid, ())) + 1)
    return out


def evaluate_shortlists(matcher: Matcher, ranked: dict[str, list[str]], pools: Pools,
                        ranks: Mapping[tuple[str, str], int], *, propensity: Propensity, ks: Sequence[int],
                        today: date, skew_k: int = 10, skew_min_vacancies: int = MIN_VACANCIES) -> ShortlistEval:
    """Naive and IPS recall@k of the hires and exposure by group, from ranked shortlists
    (``per_vacancy`` holds each group's Skew@k per vacancy too)."""
    per: dict[str, dict[str, float]] = defaultdict(dict)
    exposure = Exposure(today, k=skew_k, min_vacancies=skew_min_vacancies)
    records = matcher.workers.records
    for vid, top in ranked.items():
        exposure.add([records[matcher.workers.positions[w]] for w in top[:skew_k]],
                     [records[p] for p in pools.pools[vid]], key=vid)
        hired = pools.hired.get(vid)
        if not hired:
            continue
        weight = {w: 1.0 / propensity(ranks[(vid, w)]) for w in hired}
        for k in ks:
            found = hired & set(top[:k])
            per[f"shortlist_recall_at_{k}"][vid] = len(found) / len(hired)
            per[f"ips_recall_at_{k}"][vid] = sum(weight[w] for w in found) / sum(weight.values())
    figures = {name: float(np.mean(list(values.values()))) for name, values in per.items()}
    per.update(exposure.per_vacancy)
    figures["shortlist_vacancies"] = float(len(ranked))
    figures["shortlist_vacancies_with_hired"] = float(sum(1 for h in pools.hired.values() if h))
    figures["hired_outside_pool"] = float(pools.outside)
    figures.update(exposure.figures())
    return ShortlistEval(ranked, dict(per), figures)


def paired_interval(new: Mapping[str, float], old: Mapping[str, float], *, seed: int, rounds: int = 2000
                    ) -> dict[str, float]:
    """Mean of ``new - old`` over the keys both have, a 90% paired bootstrap interval over them, and
    the counts of wins, ties and losses; empty when they share no key."""
    keys = sorted(set(new) & set(old))
    diffs = np.array([new[k] - old[k] for k in keys])
    if len(diffs) == 0:
        return {}
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(rounds, len(diffs)))].mean(axis=1)
    low, high = np.percentile(means, [5, 95])
    return {"delta": float(diffs.mean()), "p05": float(low), "p95": float(high),
            "wins": float((diffs > 0).sum()), "ties": float((diffs == 0).sum()),
            "losses": float((diffs < 0).sum())}
