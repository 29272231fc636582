"""Allocations kept and read back: store one under a new id, reopen it from its document, and
shortlists that know the latest one (``--exclusive``: leave out workers proposed elsewhere).

The document is language-neutral (reasons as message keys and parameters), so a reopened
allocation renders in either language; :mod:`sepadan.store.allocations` holds the rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from sepadan.allocate import (
    Allocation,
    Considered,
    CourseHint,
    Idle,
    OrderView,
    Outcome,
    Proposal,
    Quota,
    QuotaResult,
    Request,
    Unfilled,
)
from sepadan.matching.matcher import Match, Matcher, MatchList
from sepadan.store.allocations import Proposed, StoredAllocation, latest_proposed, save


def store_allocation(engine: Any, a: Allocation, *, created_by: str | None = None,
                     replace_id: str | None = None) -> Allocation:
    """Keep an allocation under a new id (``replace_id``: instead of that one, if nothing was
    recorded for it yet)."""
    doc = to_doc(a)
    stored = save(engine.store, doc=doc, pairs=[(p.vacancy_id, p.worker_id, p.score) for p in a.proposals],
                  params=a.request.params(), region=a.request.region, model_version=a.model_version,
                  fingerprint=a.fingerprint, created_by=created_by, replace=replace_id)
    return from_doc(stored.doc)


def reopen(stored: StoredAllocation) -> Allocation:
    return from_doc(stored.doc)


def to_doc(a: Allocation) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(a), default=str))


def from_doc(doc: Mapping[str, Any]) -> Allocation:
    """An allocation back from its stored document."""
    r = dict(doc["request"])
    request = Request(**{**r, "start": _day(r.get("start")), "end": _day(r.get("end")),
                         "quotas": tuple(Quota(**q) for q in r.get("quotas", ())), "within": tuple(r.get("within", ()))})
    views = tuple(OrderView(**{**v, "allocated": tuple(_proposal(p) for p in v["allocated"]),
                               "considered": tuple(Considered(**{**c, "proposed_to": tuple(c["proposed_to"])})
                                                   for c in v["considered"])}) for v in doc["views"])
    unfilled = tuple(Unfilled(**{**u, "taken_by": tuple(u["taken_by"]),
                                 "courses": tuple(CourseHint(**c) for c in u["courses"])}) for u in doc["unfilled"])
    idle = tuple(Idle(**{**i, "considered_for": tuple(i["considered_for"])}) for i in doc["idle"])
    plain = {k: doc[k] for k in ("model_version", "fingerprint", "method", "objective", "orders", "positions", "slots",
                                 "candidates", "candidate_workers", "seconds", "id", "created_at", "replaces")}
    return Allocation(request=request, as_of=date.fromisoformat(doc["as_of"]), allocated=Outcome(**doc["allocated"]),
                      independent=Outcome(**doc["independent"]), views=views, unfilled=unfilled, idle=idle,
                      quotas=tuple(QuotaResult(**q) for q in doc["quotas"]), **plain)


def _proposal(p: Mapping[str, Any]) -> Proposal:
    return Proposal(**{**p, "reasons": tuple((k, dict(params)) for k, params in p["reasons"])})


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


# --- shortlists that know the allocation ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Exclusive:
    """What an exclusive shortlist left out, and how many other orders each shown worker is proposed to."""

    allocation_id: str | None
    removed: tuple[str, ...] = ()
    elsewhere: Mapping[str, int] = field(default_factory=dict)


def exclusive_shortlist(matcher: Matcher, store: Any, vacancy_id: str, *, k: int, limit: int = 500,
                        **options: Any) -> tuple[MatchList, Exclusive]:
    """The shortlist without the workers whom the latest stored allocation already proposes to other
    job orders as often as it may (asking the matcher for more until k remain or none are left)."""
    taken = latest_proposed(store)
    if taken is None:
        return matcher.shortlist(vacancy_id, k=k, **options), Exclusive(None)
    want = k
    while True:
        ml = matcher.shortlist(vacancy_id, k=want, **options)
        kept = [m for m in ml.results if not taken.taken_elsewhere(m.worker_id, vacancy_id)]
        if len(kept) >= k or len(ml.results) < want or want >= limit:
            break
        want = min(limit, want + len(ml.results) - len(kept))
    removed = tuple(m.worker_id for m in ml.results if taken.taken_elsewhere(m.worker_id, vacancy_id))
    kept = kept[:k]
    return replace(ml, results=tuple(kept)), _marks(taken, kept, removed, vacancy_id)


def _marks(taken: Proposed, kept: Sequence[Match], removed: tuple[str, ...], vacancy_id: str) -> Exclusive:
    return Exclusive(taken.allocation_id, removed, {m.worker_id: taken.elsewhere(m.worker_id, vacancy_id) for m in kept})


def mark_json(body: dict[str, Any], ex: Exclusive) -> dict[str, Any]:
    """A shortlist body with what :func:`exclusive_shortlist` did: the allocation it read, how many
    workers it left out, and for each worker shown the number of other job orders they are proposed to."""
    body["exclusive"] = {"allocation_id": ex.allocation_id, "removed": len(ex.removed)}
    for r in body["results"]:
        r["proposed_elsewhere"] = ex.elsewhere.get(r["worker_id"], 0)
    return body
