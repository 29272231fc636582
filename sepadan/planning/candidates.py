"""The workers one course away from a job order: every unmet requirement closed by a single course
that ends by the deadline (the planner's near misses, for one order)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sepadan.errors import NotFound
from sepadan.planning.demand import Market, Scope, assess, in_region
from sepadan.planning.gaps import Need
from sepadan.records import Training


@dataclass(frozen=True, slots=True)
class OneCourseAway:
    worker_id: str
    region: str | None
    needs: tuple[Need, ...]  # what the worker lacks for this order
    courses: tuple[Training, ...]  # each closes every need in time (id order)


def one_course_away(mk: Market, vacancy_id: str, *, region: str | None = None, within: Sequence[str] = (),
                    limit: int = 10) -> tuple[OneCourseAway, ...]:
    """Workers of ``region`` (and of the regions ``within``, e.g. an officer's) whom one course
    makes eligible for the order; fewest needs first, then by id."""
    picks = [i for i, v in enumerate(mk.vacancies) if v.id == vacancy_id]
    if not picks:
        raise NotFound(f"vacancy '{vacancy_id}' not found")
    sub = Market(workers=mk.workers, worker_profiles=mk.worker_profiles, vacancies=[mk.vacancies[picks[0]]],
                 vacancy_profiles=[mk.vacancy_profiles[picks[0]]], ctx=mk.ctx, catalogue=mk.catalogue,
                 coverage=mk.coverage)
    a = assess(sub, Scope(region))
    rows = []
    for (wpos, vpos), courses in a.closers.items():
        w = sub.workers[wpos]
        if within and not any(in_region(w.region, r) for r in within):
            continue
        trainings = tuple(mk.catalogue.by_id[c].training for c in sorted(courses))
        rows.append(OneCourseAway(w.id, w.region, a.near[(wpos, vpos)], trainings))
    rows.sort(key=lambda r: (len(r.needs), r.worker_id))
    return tuple(rows[:limit])
