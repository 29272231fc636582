"""Fairness figures of a ranking: exposure in the top k by group, and hire-rate parity.

- **Skew@k** (Geyik et al., KDD 2019) of a group on one list: ``ln(share in the top k / share in
  the eligible pool)``; 0 is parity. Only groups with at least ``1 / k`` of the pool count (one
  expected member in the top k; a smaller group's top-k share says nothing); one absent from the
  top k counts with a share of ``1 / (2k)`` (bounded, not minus infinity). Summed up per attribute as the mean over vacancies
  per group and the largest absolute mean (``max_abs``).
- **NDKL@k** (same paper): ``(1/Z) sum_{i<=k} KL(groups in the top i || groups in the pool) /
  log2(i + 1)``, ``Z = sum_{i<=k} 1 / log2(i + 1)``; 0 when every prefix mirrors the pool, larger
  is more skewed; the mean over vacancies.
- **Hire-rate parity** among shown candidates (every judged pair): per group, hired pairs over
  judged pairs, and per attribute the lowest group rate over the highest (1 is parity; the
  "four-fifths rule" reads 0.8). A property of the outcomes a version learns from, not of its
  ranking: it says what bias the data carry.

Attributes: gender, age band (on ``today``) and province (the first two digits of the region). They
are read here only to measure; no feature reads them (:mod:`sepadan.models.features`; its
``home_distance`` reads only whether a domestic job is in the worker's regency or province).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np

from sepadan.matching.eligibility import age_on

AGE_BANDS = ((25, "18-24"), (35, "25-34"), (45, "35-44"))
MIN_SHOWN = 20  # a group needs this many judged pairs to enter the hire-rate parity
# Figures where a larger value is less fair (the promotion rule compares these).
WORSE_WHEN_HIGHER = ("skew_at_{k}/{attr}/max_abs", "ndkl_at_{k}/{attr}")


def gender_of(worker: Any) -> str:
    return worker.gender or "unknown"


def province_of(worker: Any) -> str:
    return worker.region.split(".")[0] if worker.region else "unknown"


def age_band(birth: date | None, today: date) -> str:
    age = age_on(birth, today)
    if age is None:
        return "unknown"
    if age < 18:
        return "under-18"
    return next((label for upper, label in AGE_BANDS if age < upper), "45-and-over")


def attributes(today: date) -> dict[str, Callable[[Any], str]]:
    """``{attribute: worker -> group}`` for gender, age band and province."""
    return {"gender": gender_of, "age_band": lambda w: age_band(w.birth_date, today), "province": province_of}


def skew(top: Sequence[str], pool: Sequence[str], *, k: int) -> dict[str, float]:
    """Skew@k per group with at least ``1 / k`` of the pool."""
    pool_counts, top_counts = Counter(pool), Counter(top[:k])
    n_top, n_pool = max(len(top[:k]), 1), len(pool)
    floor = 1.0 / (2 * k)
    return {g: math.log(max(top_counts[g] / n_top, floor) / (c / n_pool)) for g, c in pool_counts.items()
            if c / n_pool >= 1.0 / k}


def ndkl(top: Sequence[str], pool: Sequence[str], *, k: int) -> float:
    """NDKL@k of one ranked list of groups against its pool."""
    pool_counts = Counter(pool)
    target = {g: c / len(pool) for g, c in pool_counts.items()}
    seen: Counter[str] = Counter()
    total, norm = 0.0, 0.0
    for i, group in enumerate(top[:k], start=1):
        seen[group] += 1
        kl = sum((c / i) * math.log((c / i) / target[g]) for g, c in seen.items())
        total += kl / math.log2(i + 1)
        norm += 1.0 / math.log2(i + 1)
    return total / norm if norm else 0.0


class Exposure:
    """Skew@k and NDKL@k per attribute, accumulated over vacancies."""

    def __init__(self, today: date, *, k: int = 10) -> None:
        self.k, self.groups_of = k, attributes(today)
        self._skews: dict[str, list[float]] = defaultdict(list)
        self._ndkl: dict[str, list[float]] = defaultdict(list)

    def add(self, top: Sequence[Any], pool: Sequence[Any]) -> None:
        """One vacancy: ``top`` its ranked workers (best first), ``pool`` its eligible workers.
        A pool no larger than k is left out: its top k is the whole pool."""
        if len(pool) <= self.k:
            return
        for attr, group_of in self.groups_of.items():
            ranked, everyone = [group_of(w) for w in top[: self.k]], [group_of(w) for w in pool]
            for group, value in skew(ranked, everyone, k=self.k).items():
                self._skews[f"{attr}/{group}"].append(value)
            self._ndkl[attr].append(ndkl(ranked, everyone, k=self.k))

    def figures(self) -> dict[str, float]:
        k = self.k
        out = {f"skew_at_{k}/{key}": float(np.mean(v)) for key, v in sorted(self._skews.items())}
        for attr in self.groups_of:
            means = [v for key, v in out.items() if key.startswith(f"skew_at_{k}/{attr}/")]
            if means:
                out[f"skew_at_{k}/{attr}/max_abs"] = float(max(abs(v) for v in means))
            if self._ndkl.get(attr):
                out[f"ndkl_at_{k}/{attr}"] = float(np.mean(self._ndkl[attr]))
        return out


def hire_rates(graded: Mapping[tuple[str, str], int], workers: Mapping[str, Any], today: date, *,
               relevant: int, min_shown: int = MIN_SHOWN) -> dict[str, float]:
    """Hire rate per group among the judged pairs, and per attribute the parity (lowest / highest
    rate over the groups with at least ``min_shown`` judged pairs)."""
    out: dict[str, float] = {}
    for attr, group_of in attributes(today).items():
        shown, hired = Counter(), Counter()
        for (_, wid), grade in graded.items():
            worker = workers.get(wid)
            if worker is None:
                continue
            group = group_of(worker)
            shown[group] += 1
            hired[group] += grade >= relevant
        rates = {g: hired[g] / n for g, n in shown.items() if n >= min_shown}
        out.update({f"hire_rate/{attr}/{g}": r for g, r in sorted(rates.items())})
        if len(rates) >= 2 and max(rates.values()) > 0:
            out[f"hire_rate_parity/{attr}"] = min(rates.values()) / max(rates.values())
    return out


def worse(new: Mapping[str, float], old: Mapping[str, float], *, tolerance: float, k: int = 10,
          attrs: Iterable[str] = ("gender", "age_band", "province")) -> list[str]:
    """The fairness figures (lower is fairer) where ``new`` exceeds ``old`` by more than ``tolerance``,
    each as ``name old -> new``."""
    out = []
    for attr in attrs:
        for pattern in WORSE_WHEN_HIGHER:
            key = pattern.format(k=k, attr=attr)
            if key in new and key in old and new[key] > old[key] + tolerance:
                out.append(f"{key} {old[key]:.3f} -> {new[key]:.3f}")
    return out
