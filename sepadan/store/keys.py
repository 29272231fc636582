"""API keys and the audit log, in the store.

A key is shown once, when created; only its SHA-256 is stored (a key is 32 random bytes, so a plain
hash cannot be reversed by guessing, unlike a NIK). A key carries a role, the regions it may see
(Kemendagri code prefixes; none means every region) and optionally the agency it belongs to.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import select, update

from sepadan.errors import NotFound, SepadanError
from sepadan.features import geo
from sepadan.store.db import Store
from sepadan.store.schema import api_keys, audit_log

ROLES = ("admin", "officer", "planner", "portal")


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    role: str
    regions: tuple[str, ...] = ()
    agency: str | None = None
    label: str | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    def sees_region(self, region: str | None) -> bool:
        """Every region when unscoped; else the region code must fall under one of the key's."""
        if not self.regions:
            return True
        return region is not None and any(region == r or region.startswith(r + ".") for r in self.regions)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    key_id: str
    action: str
    kind: str
    record_id: str
    route: str | None


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(store: Store, role: str, *, regions: tuple[str, ...] = (), agency: str | None = None,
               label: str | None = None) -> tuple[ApiKey, str]:
    """A new key: (its record, the token to hand over once)."""
    if role not in ROLES:
        raise SepadanError(f"unknown role '{role}' (use one of: {', '.join(ROLES)})")
    codes = tuple(geo.region_code(r) for r in regions)
    key_id = secrets.token_hex(4)
    token = f"sk_{key_id}_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(api_keys.insert().values(
            id=key_id, key_hash=hash_key(token), role=role, regions=json.dumps(list(codes)),
            agency=agency, label=label, created_at=now))
    return ApiKey(key_id, role, codes, agency, label, now), token


def find_key(store: Store, token: str) -> ApiKey | None:
    """The live key for a token, or None (unknown or revoked)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_hash == hash_key(token))).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    return _key(row)


def key_by_id(store: Store, key_id: str) -> ApiKey | None:
    """The live key with this id, or None (unknown or revoked)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
    return None if row is None or row["revoked_at"] is not None else _key(row)


def list_keys(store: Store) -> list[ApiKey]:
    with store.engine.connect() as conn:
        return [_key(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.created_at)).mappings()]


def revoke_key(store: Store, key_id: str) -> None:
    with store.engine.begin() as conn:
        done = conn.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                            .values(revoked_at=datetime.now(UTC))).rowcount
    if not done:
        raise NotFound(f"no live key '{key_id}'")


def _key(row: Any) -> ApiKey:
    return ApiKey(row["id"], row["role"], tuple(json.loads(row["regions"])), row["agency"], row["label"],
                  row["created_at"], row["revoked_at"])


def audit(store: Store, key_id: str, action: str, kind: str, record_ids: list[str], route: str | None) -> None:
    """One line per record read or changed: which key, what, when (never the record's content),
    committed before this returns."""
    if not record_ids:
        return
    now = datetime.now(UTC)
    if store.engine.dialect.name == "sqlite":  # the same rows through the driver: SQLAlchemy's per-row
        _sqlite_audit(store, _sqlite_at(store.engine.dialect)(now), key_id, action, kind, record_ids, route)
        return  # processing was half of a 30-line audit (issue 15)
    with store.engine.begin() as conn:
        conn.execute(audit_log.insert(), [
            {"at": now, "key_id": key_id, "action": action, "kind": kind, "record_id": r, "route": route}
            for r in record_ids])


def audit_now(store: Store, key_id: str, action: str, kind: str, record_ids: list[str],
              route: str | None) -> bool:
    """:func:`audit` where it needs no waiting (an event loop's call): True when the lines are
    committed (or there are none), False when nothing was written because this process's audit
    writer or SQLite's write lock was busy, or the store is not a SQLite file: then call
    :func:`audit` where waiting does no harm."""
    if not record_ids:
        return True
    if not store.changes.enabled:
        return False
    at = _sqlite_at(store.engine.dialect)(datetime.now(UTC))
    return store.changes.write(_SQLITE_AUDIT, _rows(at, key_id, action, kind, record_ids, route), wait=False)


_SQLITE_AUDIT = "INSERT INTO audit_log (at, key_id, action, kind, record_id, route) VALUES (?, ?, ?, ?, ?, ?)"


def _sqlite_audit(store: Store, at: str, key_id: str, action: str, kind: str, record_ids: list[str],
                  route: str | None) -> None:
    """Through the driver, without SQLAlchemy's Connection and transaction objects around it (a
    few tens of microseconds a call; issue 15). On a SQLite file through this process's audit
    writer (:class:`~sepadan.store.changes.ChangeWatch`): its own commits leave the store's
    ``data_version`` as it was, so the reads a shortlist remembers stay usable, and its page cache
    stays warm; else on a pooled connection."""
    rows = _rows(at, key_id, action, kind, record_ids, route)
    if store.changes.enabled:
        store.changes.write(_SQLITE_AUDIT, rows)
        return
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.executemany(_SQLITE_AUDIT, rows)
            raw.commit()
        finally:
            cursor.close()
    finally:
        raw.close()  # back to the pool, rolled back there if the commit did not happen


def _rows(at: str, key_id: str, action: str, kind: str, record_ids: list[str], route: str | None) -> list[tuple]:
    return [(at, key_id, action, kind, r, route) for r in record_ids]


@cache
def _sqlite_at(dialect: Any) -> Any:
    """How SQLAlchemy writes ``audit_log.at`` on this dialect (so reads parse it as before)."""
    return audit_log.c.at.type.dialect_impl(dialect).bind_processor(dialect)


def audit_trail(store: Store, kind: str, record_id: str) -> list[AuditEntry]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.kind == kind, audit_log.c.record_id == record_id)
                            .order_by(audit_log.c.id)).mappings()
        return [AuditEntry(r["at"], r["key_id"], r["action"], r["kind"], r["record_id"], r["route"]) for r in rows]
