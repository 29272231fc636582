"""Stored allocations: each run under a new id, with its inputs' fingerprint, model version and time.

An allocation is kept as its document (what reopening it shows, language-neutral) and its proposals,
one row per (vacancy, worker), so a shortlist can ask who is already proposed elsewhere. A run never
overwrites an earlier one; ``replace`` removes the one it names in the same transaction, and refuses
when outcomes were recorded for its proposals since it was made (an officer acted on it).
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    String,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    update,
)

from sepadan.errors import NotFound, SepadanError
from sepadan.store.db import Store
from sepadan.store.schema import TABLES, metadata

allocations = Table(
    "allocations", metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("region", String(32), nullable=True),
    Column("model_version", String(128), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("params", Text, nullable=False),  # JSON: the request (region, period, capacities, k, ...)
    Column("doc", Text, nullable=False),  # JSON: the allocation as reopening shows it
    Column("replaces", String(40), nullable=True),
    Column("created_by", String(16), nullable=True),  # an API key id, or None (the command line)
    Index("ix_allocations_created_at", "created_at"),
)

allocation_pairs = Table(
    "allocation_pairs", metadata,
    Column("allocation_id", String(40), primary_key=True),
    Column("vacancy_id", String(64), primary_key=True),
    Column("worker_id", String(64), primary_key=True),
    Column("score", Float, nullable=False),
    Index("ix_allocation_pairs_worker", "worker_id"),
)


class AllocationLocked(SepadanError):
    """An allocation with recorded outcomes, which a new run may not replace."""


@dataclass(frozen=True, slots=True)
class StoredAllocation:
    id: str
    created_at: datetime
    region: str | None
    model_version: str
    fingerprint: str
    params: Mapping[str, Any]
    doc: Mapping[str, Any]
    replaces: str | None = None
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class Proposed:
    """Who an allocation proposes where: worker id -> vacancy ids, and each worker's limit."""

    allocation_id: str
    proposals_per_worker: int
    by_worker: Mapping[str, tuple[str, ...]]

    def elsewhere(self, worker_id: str, vacancy_id: str) -> int:
        return sum(1 for v in self.by_worker.get(worker_id, ()) if v != vacancy_id)

    def taken_elsewhere(self, worker_id: str, vacancy_id: str) -> bool:
        """Whether every proposal the worker may get went to other job orders."""
        return self.elsewhere(worker_id, vacancy_id) >= self.proposals_per_worker


def new_id(now: datetime) -> str:
    return f"A-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def save(store: Store, *, doc: Mapping[str, Any], pairs: Iterable[tuple[str, str, float]], params: Mapping[str, Any],
         region: str | None, model_version: str, fingerprint: str, created_by: str | None = None,
         replace: str | None = None, now: datetime | None = None) -> StoredAllocation:
    """Store a new allocation under a new id (removing ``replace`` if it has no recorded outcomes)."""
    now = now or datetime.now(UTC)
    id_ = new_id(now)
    doc = {**doc, "id": id_, "created_at": now.isoformat(timespec="seconds"), "replaces": replace}
    rows = [{"allocation_id": id_, "vacancy_id": v, "worker_id": w, "score": float(s)} for v, w, s in pairs]
    with store.engine.begin() as conn:
        if replace is not None:
            _remove(conn, replace)
        conn.execute(allocations.insert().values(
            id=id_, created_at=now, region=region, model_version=model_version, fingerprint=fingerprint,
            params=json.dumps(params, default=str), doc=json.dumps(doc, default=str, ensure_ascii=False),
            replaces=replace, created_by=created_by))
        if rows:
            conn.execute(allocation_pairs.insert(), rows)
    return StoredAllocation(id_, now, region, model_version, fingerprint, dict(params), doc, replace, created_by)


def _remove(conn: Any, allocation_id: str) -> None:
    row = conn.execute(select(allocations.c.created_at).where(allocations.c.id == allocation_id)).first()
    if row is None:
        raise NotFound(f"allocation '{allocation_id}' not found")
    acted = _outcomes_since(conn, allocation_id, row[0])
    if acted:
        raise AllocationLocked(f"allocation '{allocation_id}' has {acted} recorded outcome(s) since it was made; "
                               "it is kept (run without --replace to store a new one beside it)")
    conn.execute(allocation_pairs.delete().where(allocation_pairs.c.allocation_id == allocation_id))
    conn.execute(allocations.delete().where(allocations.c.id == allocation_id))


def outcomes_since(store: Store, allocation_id: str) -> int:
    """Outcomes recorded for the allocation's proposals on or after the day it was made."""
    with store.engine.connect() as conn:
        row = conn.execute(select(allocations.c.created_at).where(allocations.c.id == allocation_id)).first()
        if row is None:
            raise NotFound(f"allocation '{allocation_id}' not found")
        return _outcomes_since(conn, allocation_id, row[0])


def _outcomes_since(conn: Any, allocation_id: str, created_at: datetime) -> int:
    o, p = TABLES["outcomes"], allocation_pairs
    query = (select(func.count()).select_from(p.join(o, and_(o.c.worker_id == p.c.worker_id,
                                                             o.c.vacancy_id == p.c.vacancy_id)))
             .where(p.c.allocation_id == allocation_id, or_(o.c.date >= created_at.date(), o.c.updated_at >= created_at)))
    return int(conn.execute(query).scalar_one())


def load(store: Store, allocation_id: str) -> StoredAllocation:
    with store.engine.connect() as conn:
        row = conn.execute(select(allocations).where(allocations.c.id == allocation_id)).mappings().first()
    if row is None:
        raise NotFound(f"allocation '{allocation_id}' not found")
    return _stored(row)


def latest(store: Store) -> StoredAllocation | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(allocations).order_by(allocations.c.created_at.desc(), allocations.c.id.desc())
                           .limit(1)).mappings().first()
    return None if row is None else _stored(row)


def latest_proposed(store: Store) -> Proposed | None:
    """The proposals of the most recent allocation, by worker (None if none was stored)."""
    last = latest(store)
    if last is None:
        return None
    by_worker: dict[str, list[str]] = defaultdict(list)
    with store.engine.connect() as conn:
        for v, w in conn.execute(select(allocation_pairs.c.vacancy_id, allocation_pairs.c.worker_id)
                                 .where(allocation_pairs.c.allocation_id == last.id)):
            by_worker[w].append(v)
    limit = int(last.params.get("proposals_per_worker", 1))
    return Proposed(last.id, limit, {w: tuple(sorted(vs)) for w, vs in by_worker.items()})


def forget_worker(store: Store, worker_id: str) -> int:
    """Erasure: remove a worker from every stored allocation (their proposals, and every row of a
    document that names them); the number of allocations changed."""
    with store.engine.begin() as conn:
        return forget_in(conn, worker_id)


def forget_in(conn: Any, worker_id: str) -> int:
    """:func:`forget_worker` inside the caller's transaction (the store's erasure)."""
    changed = 0
    conn.execute(allocation_pairs.delete().where(allocation_pairs.c.worker_id == worker_id))
    for id_, doc in conn.execute(select(allocations.c.id, allocations.c.doc)).all():
        if f'"{worker_id}"' not in doc:
            continue
        cleaned = json.dumps(_without(json.loads(doc), worker_id), ensure_ascii=False)
        conn.execute(update(allocations).where(allocations.c.id == id_).values(doc=cleaned))
        changed += 1
    return changed


def _without(node: Any, worker_id: str) -> Any:
    if isinstance(node, list):
        return [_without(x, worker_id) for x in node if not (isinstance(x, dict) and x.get("worker_id") == worker_id)]
    if isinstance(node, dict):
        return {k: _without(v, worker_id) for k, v in node.items()}
    return node


def _stored(row: Any) -> StoredAllocation:
    return StoredAllocation(row["id"], row["created_at"], row["region"], row["model_version"], row["fingerprint"],
                            json.loads(row["params"]), json.loads(row["doc"]), row["replaces"], row["created_by"])
