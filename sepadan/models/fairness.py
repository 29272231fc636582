"""Fairness figures of a ranking: exposure in the top k by group, and hire-rate parity.

- **Skew@k** (Geyik et al., KDD 2019) of a group on one list: ``ln(share in the top k / share in
  the eligible pool)``; 0 is parity. Only groups with at least ``1 / k`` of the pool count (one
  expected member in the top k; a smaller group's top-k share says nothing); one absent from the
  top k counts with a share of ``1 / (2k)`` (bounded, not minus infinity). Summed up per attribute
  as the mean over vacancies per group, the number of vacancies each mean is over
  (``skew_at_k/<attr>/<group>/vacancies``), and the largest absolute mean (``max_abs``) over the
  groups measured on at least ``min_vacancies`` vacancies (:data:`MIN_VACANCIES`, 20);
  ``max_abs_all`` takes every group and is reported, not judged.
- **Which figures the promotion rule judges** (:func:`worse`): NDKL@k per attribute, and each group's
  mean Skew@k, group by group (``|Skew|`` compared: further from parity is less fair), over the
  groups measured on at least ``min_vacancies`` vacancies. Why a minimum: one worker more or fewer
  of a group in one vacancy's top 10 moves that vacancy's Skew@10 by up to ``ln 2`` (0.69), so a
  mean over n vacancies moves by up to ``0.69 / n`` on one such change: above the rule's tolerance
  (0.05) for n under 14, 0.035 at 20. On the demo outcomes, cross-validated over all vacancies, the
  largest province mean was Kalimantan Selatan's (province 63, 172 of the 5,000 workers, in few
  eligible pools): over 4 vacancies, the learned and transparent top 10s differing on one of them
  by exactly that step (mean -0.571 against -0.398). Why group by group and not max |Skew|: the
  maximum compares different groups; a ranker that pushes one group out of the top k while drawing
  another nearer parity can leave it unchanged (on the demo, the learned ranker's age band
  18-24 moved from -0.17 to -0.24 cross-validated while the maximum fell).
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
MIN_VACANCIES = 20  # a group's mean Skew@k enters max_abs only when measured on this many vacancies
ATTRIBUTES = ("gender", "age_band", "province")


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
    """Skew@k and NDKL@k per attribute, accumulated over vacancies; ``per_vacancy`` keeps each
    group's Skew@k per vacancy (``{"skew_at_k/<attr>/<group>": {vacancy_id: value}}``) for
    paired comparisons."""

    def __init__(self, today: date, *, k: int = 10, min_vacancies: int = MIN_VACANCIES) -> None:
        self.k, self.min_vacancies, self.groups_of = k, min_vacancies, attributes(today)
        self.per_vacancy: dict[str, dict[str, float]] = defaultdict(dict)
        self._ndkl: dict[str, list[float]] = defaultdict(list)

    def add(self, top: Sequence[Any], pool: Sequence[Any], *, key: str) -> None:
        """One vacancy (``key``, its id): ``top`` its ranked workers (best first), ``pool`` its
        eligible workers. A pool no larger than k is left out: its top k is the whole pool."""
        if len(pool) <= self.k:
            return
        for attr, group_of in self.groups_of.items():
            ranked, everyone = [group_of(w) for w in top[: self.k]], [group_of(w) for w in pool]
            for group, value in skew(ranked, everyone, k=self.k).items():
                self.per_vacancy[f"skew_at_{self.k}/{attr}/{group}"][key] = value
            self._ndkl[attr].append(ndkl(ranked, everyone, k=self.k))

    def figures(self) -> dict[str, float]:
        k = self.k
        out = {name: float(np.mean(list(v.values()))) for name, v in sorted(self.per_vacancy.items())}
        out.update({f"{name}/vacancies": float(len(v)) for name, v in sorted(self.per_vacancy.items())})
        for attr in self.groups_of:
            means = {name: out[name] for name in self.per_vacancy if name.startswith(f"skew_at_{k}/{attr}/")}
            if means:
                out[f"skew_at_{k}/{attr}/max_abs_all"] = float(max(abs(v) for v in means.values()))
            steady = [abs(v) for name, v in means.items() if len(self.per_vacancy[name]) >= self.min_vacancies]
            if steady:
                out[f"skew_at_{k}/{attr}/max_abs"] = float(max(steady))
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
          min_vacancies: int = MIN_VACANCIES, attrs: Iterable[str] = ATTRIBUTES) -> list[str]:
    """The fairness figures where ``new`` is less fair than ``old`` by more than ``tolerance``, each
    as ``name old -> new``: NDKL@k per attribute (higher is less fair), and the mean Skew@k of each
    group measured on at least ``min_vacancies`` vacancies (further from 0 is less fair: ``|Skew|``
    compared). Group by group, so that one group pushed out of the top k is not hidden by another
    drawn nearer parity, which max |Skew@k| would do."""
    out = []
    for attr in attrs:
        key = f"ndkl_at_{k}/{attr}"
        if key in new and key in old and new[key] > old[key] + tolerance:
            out.append(f"{key} {old[key]:.3f} -> {new[key]:.3f}")
        for key in judged_groups(new, attr, k=k, min_vacancies=min_vacancies):
            if key in old and abs(new[key]) > abs(old[key]) + tolerance:
                out.append(f"{key} {old[key]:+.3f} -> {new[key]:+.3f} (|Skew| {abs(new[key]) - abs(old[key]):+.3f}, "
                           f"{int(new[f'{key}/vacancies'])} vacancies)")
    return out


def judged_groups(figures: Mapping[str, float], attr: str, *, k: int = 10,
                  min_vacancies: int = MIN_VACANCIES) -> list[str]:
    """The keys ``skew_at_k/<attr>/<group>`` of the groups measured on at least ``min_vacancies``
    vacancies (their ``/vacancies`` count)."""
    prefix = f"skew_at_{k}/{attr}/"
    return sorted(key for key in figures if key.startswith(prefix) and key.count("/") == 2
                  and not key.endswith(("/max_abs", "/max_abs_all"))
                  and figures.get(f"{key}/vacancies", 0) >= min_vacancies)


def unjudged(new: Mapping[str, float], old: Mapping[str, float], *, k: int = 10,
             min_vacancies: int = MIN_VACANCIES, attrs: Iterable[str] = ATTRIBUTES) -> list[str]:
    """What :func:`worse` cannot compare: an attribute with no group measured on enough vacancies
    (``Skew@k by <attr>``), a group judged in ``new`` that ``old`` has no figure for, or an NDKL@k
    missing from either side."""
    attrs = tuple(attrs)
    out = [f"Skew@{k} by {attr}" for attr in attrs if not judged_groups(new, attr, k=k, min_vacancies=min_vacancies)]
    out += [key for attr in attrs for key in judged_groups(new, attr, k=k, min_vacancies=min_vacancies)
            if key not in old]
    return out + [key for attr in attrs if (key := f"ndkl_at_{k}/{attr}") not in new or key not in old]
