"""The store: one SQLAlchemy engine (SQLite file by default, PostgreSQL by URL), migrated by Alembic.

Writes are idempotent upserts keyed by id and a content hash, one transaction per import. Erasure is
real: SQLite runs with ``secure_delete`` (deleted content is overwritten with zeros) and an erasure
ends with a WAL checkpoint that truncates the log; on PostgreSQL the same one-transaction delete
leaves dead tuples until the operator's ``VACUUM (FULL)`` (:meth:`Store.vacuum`, README "Personal
data").
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, String, bindparam, create_engine, event, func, literal, or_, select, text

from sepadan.faults import point
from sepadan.store.changes import ChangeWatch, Remembered
from sepadan.store.schema import TABLES, audit_log, phrase_vectors

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
_CHUNK = 500
# built once: a statement built per call (its bind values, its cache key) was most of a lookup's time
_BY_ID = {kind: select(table).where(table.c.id == bindparam("id")) for kind, table in TABLES.items()}
_PII_OF = select(TABLES["workers"].c.id, TABLES["workers"].c.pii_enc).where(
    TABLES["workers"].c.id.in_(bindparam("ids", expanding=True)))
_SQLITE_PII_OF = "SELECT id, pii_enc FROM workers WHERE id IN (SELECT value FROM json_each(?))"


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One validated row ready to write: its document, indexed columns and content hash."""

    id: str
    doc: dict[str, Any]
    columns: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def content_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class Store:
    """Records by kind, the phrase-vector cache, and data fingerprints for index freshness."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @cached_property
    def changes(self) -> ChangeWatch:
        """Whether another connection wrote since a moment; this process's audit writer."""
        return ChangeWatch(self.engine)

    @cached_property
    def _unchanged(self) -> Remembered:
        return Remembered(4096)

    @classmethod
    def open(cls, url: str) -> Store:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        store.migrate()
        store.checkpoint(wait_ms=1000)  # finishes an erasure a crash interrupted before its checkpoint
        return store

    def migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def upsert(self, kind: str, rows: list[StoredRow]) -> UpsertCounts:
        """Insert new rows, update changed ones, leave equal ones: all in one transaction."""
        table = TABLES[kind]
        inserted = updated = 0
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start:start + _CHUNK]
                known = dict(conn.execute(
                    select(table.c.id, table.c.content_hash).where(table.c.id.in_([r.id for r in chunk]))
                ).all())
                new = [_values(r, now) for r in chunk if r.id not in known]
                changed = [r for r in chunk if r.id in known and known[r.id] != r.content_hash]
                if new:
                    conn.execute(table.insert(), new)
                for row in changed:
                    conn.execute(table.update().where(table.c.id == row.id).values(_values(row, now)))
                inserted, updated = inserted + len(new), updated + len(changed)
                if 2 * start < len(rows) <= 2 * (start + len(chunk)) < 2 * len(rows):
                    point("store.upsert.mid_commit")
            point("store.upsert.before_commit")
        return UpsertCounts(inserted, updated, len(rows) - inserted - updated)

    def delete(self, kind: str, ids: Iterable[str]) -> int:
        table = TABLES[kind]
        with self.engine.begin() as conn:
            return conn.execute(table.delete().where(table.c.id.in_(list(ids)))).rowcount

    def rows(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every row of a kind as its document plus indexed columns, in id order."""
        table = TABLES[kind]
        with self.engine.connect() as conn:
            for row in conn.execute(select(table).order_by(table.c.id)).mappings():
                yield _doc(row)

    def get(self, kind: str, id_: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(_BY_ID[kind], {"id": id_}).mappings().first()
        return _doc(row) if row else None

    def get_unchanged(self, kind: str, id_: str) -> dict[str, Any] | None:
        """:meth:`get`, answered from memory while nothing was written to the store since this
        process last read it (:class:`~sepadan.store.changes.ChangeWatch`; on PostgreSQL always
        read). The document is shared: read it, never change it."""
        version = self.changes.version()  # before the read: what is read is at least as new
        hit, doc = self._unchanged.get((kind, id_), version)
        if not hit:
            doc = self.get(kind, id_)
            self._unchanged.put((kind, id_), version, doc)
        return doc

    def raw(self, kind: str, id_: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(_BY_ID[kind], {"id": id_}).mappings().first()
        return dict(row) if row else None

    def ids(self, kind: str) -> set[str]:
        table = TABLES[kind]
        with self.engine.connect() as conn:
            return set(conn.execute(select(table.c.id)).scalars())

    def count(self, kind: str) -> int:
        table = TABLES[kind]
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

    def fingerprint(self, kind: str) -> str:
        """A digest of every (id, content hash): equal digests mean equal data."""
        table = TABLES[kind]
        digest = hashlib.sha256()
        with self.engine.connect() as conn:
            for id_, hash_ in conn.execute(select(table.c.id, table.c.content_hash).order_by(table.c.id)):
                digest.update(f"{id_}\t{hash_}\n".encode())
        return digest.hexdigest()

    def cached_vectors(self, model: str, texts: list[str]) -> dict[str, np.ndarray]:
        keys = {_text_hash(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        with self.engine.connect() as conn:
            hashes = list(keys)
            for start in range(0, len(hashes), _CHUNK):
                query = select(phrase_vectors.c.text_hash, phrase_vectors.c.vector).where(
                    phrase_vectors.c.model == model,
                    phrase_vectors.c.text_hash.in_(hashes[start:start + _CHUNK]))
                for text_hash, blob in conn.execute(query):
                    found[keys[text_hash]] = np.frombuffer(blob, dtype=np.float32)
        return found

    def cache_vectors(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        rows = [{"model": model, "text_hash": _text_hash(t), "text": t,
                 "vector": np.asarray(v, dtype=np.float32).tobytes()} for t, v in vectors.items()]
        with self.engine.begin() as conn:
            existing = self._existing_hashes(conn, model, [r["text_hash"] for r in rows])
            fresh = [r for r in rows if r["text_hash"] not in existing]
            if fresh:
                conn.execute(phrase_vectors.insert(), fresh)

    def forget_vectors(self, model: str, texts: list[str]) -> None:
        hashes = [_text_hash(t) for t in texts]
        with self.engine.begin() as conn:
            for start in range(0, len(hashes), _CHUNK):
                conn.execute(phrase_vectors.delete().where(
                    phrase_vectors.c.model == model, phrase_vectors.c.text_hash.in_(hashes[start:start + _CHUNK])))

    def erase_worker(self, worker_id: str, *, pseudonym: str, phrases: Iterable[str] = (),
                     audit: dict[str, Any] | None = None) -> bool:
        """Erase a worker in one transaction: their row (NIK, name, birth date), their outcomes, the
        phrase-cache rows of ``phrases`` (their own words, under every model), and their id in the
        audit log, replaced by ``pseudonym``; ``audit`` (key_id, route) records the erasure itself
        under the pseudonym. Then the WAL is checkpointed. False (nothing changed) if not stored."""
        from sepadan.store.allocations import forget_in  # it imports this module

        workers, outcomes = TABLES["workers"], TABLES["outcomes"]
        with self.engine.begin() as conn:
            if not conn.execute(workers.delete().where(workers.c.id == worker_id)).rowcount:
                return False
            point("erase.mid_commit")
            conn.execute(outcomes.delete().where(outcomes.c.worker_id == worker_id))
            forget_in(conn, worker_id)  # stored allocations that proposed them
            hashes = [_text_hash(t) for t in phrases]
            for start in range(0, len(hashes), _CHUNK):
                chunk = hashes[start:start + _CHUNK]
                conn.execute(phrase_vectors.delete().where(phrase_vectors.c.text_hash.in_(chunk)))
            _pseudonymise_audit(conn, worker_id, pseudonym)
            if audit is not None:
                conn.execute(audit_log.insert().values(at=datetime.now(UTC), action="delete", kind="workers",
                                                       record_id=pseudonym, **audit))
        point("erase.after_commit")
        if not self.checkpoint():
            log.warning("WAL checkpoint after an erasure blocked by a reader; it is truncated at the next start")
        return True

    def checkpoint(self, *, wait_ms: int = 30_000) -> bool:
        """SQLite: copy the WAL into the database file and truncate it to zero bytes, so pages that
        held deleted rows live nowhere but in the (zeroed) file; False if readers or a writer kept
        it from finishing within ``wait_ms``. True (nothing to do) on other databases."""
        if self.engine.dialect.name != "sqlite":
            return True
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_ms)}")
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            conn.exec_driver_sql("PRAGMA busy_timeout=30000")
        return not busy

    def vacuum(self) -> None:
        """Rewrite the tables that held personal data so nothing deleted survives in free space:
        ``VACUUM`` on SQLite, ``VACUUM (FULL)`` of those tables on PostgreSQL (an exclusive lock
        while it runs; see README "Personal data")."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("VACUUM")
            else:
                conn.execute(text("VACUUM (FULL, ANALYZE) workers, outcomes, phrase_vectors, audit_log"))
        if not self.checkpoint():
            log.warning("WAL checkpoint after VACUUM blocked by a reader; it is truncated at the next start")

    def page(self, kind: str, *, offset: int, limit: int, regions: tuple[str, ...] = (),
             agency: str | None = None, worker_id: str | None = None,
             vacancy_id: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """One page of a kind in id order, and the total count. Workers (and outcomes, through their
        worker) only of ``regions`` (Kemendagri prefixes); vacancies (and outcomes, through their
        vacancy) only of ``agency``; outcomes only of ``worker_id`` (and of ``vacancy_id``)."""
        table = TABLES[kind]
        query, counter = select(table), select(func.count()).select_from(table)
        clauses = _scope(kind, regions, agency)
        if worker_id is not None:
            clauses.append(table.c.worker_id == worker_id)
        if vacancy_id is not None:
            clauses.append(table.c.vacancy_id == vacancy_id)
        if clauses:
            query, counter = query.where(*clauses), counter.where(*clauses)
        with self.engine.connect() as conn:
            total = conn.execute(counter).scalar_one()
            rows = conn.execute(query.order_by(table.c.id).offset(offset).limit(limit)).mappings().all()
        return [_doc(r) for r in rows], total

    def personal_many(self, ids: list[str], open_: Any) -> dict[str, Any]:
        """id -> ``open_(sealed personal fields)``, for the workers among ``ids`` that are stored."""
        return {id_: open_(token) for id_, token in self.sealed_many(ids)}

    def sealed_many(self, ids: list[str]) -> list[tuple[str, str | None]]:
        """(id, sealed personal fields) of the workers among ``ids`` that are stored. On SQLite one
        statement through the driver, the ids as one JSON array (SQLAlchemy's expanding IN, rendered
        per call, was most of a shortlist's 30-name read: issue 15)."""
        if not ids:
            return []
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                try:
                    return cursor.execute(_SQLITE_PII_OF, (json.dumps(ids),)).fetchall()
                finally:
                    cursor.close()
            return [tuple(row) for start in range(0, len(ids), _CHUNK)
                    for row in conn.execute(_PII_OF, {"ids": ids[start:start + _CHUNK]})]

    def generation(self) -> tuple:
        """Changes when any record that matching reads is written or deleted (cheap, for polling)."""
        out = []
        with self.engine.connect() as conn:
            for kind in ("workers", "vacancies", "agencies"):
                table = TABLES[kind]
                out.append(tuple(conn.execute(select(func.count(), func.max(table.c.updated_at))
                                              .select_from(table)).one()))
        return tuple(out)

    def _existing_hashes(self, conn: Any, model: str, hashes: list[str]) -> set[str]:
        out: set[str] = set()
        for start in range(0, len(hashes), _CHUNK):
            out |= set(conn.execute(select(phrase_vectors.c.text_hash).where(
                phrase_vectors.c.model == model,
                phrase_vectors.c.text_hash.in_(hashes[start:start + _CHUNK]))).scalars())
        return out


def _scope(kind: str, regions: tuple[str, ...], agency: str | None) -> list[Any]:
    table, workers, vacancies = TABLES[kind], TABLES["workers"], TABLES["vacancies"]
    clauses: list[Any] = []
    if regions:
        inside = or_(*[or_(workers.c.region == r, workers.c.region.like(r + ".%")) for r in regions])
        clauses.append(inside if kind == "workers" else table.c.worker_id.in_(select(workers.c.id).where(inside)))
    if agency is not None:
        own = vacancies.c.agency_licence == agency
        clauses.append(own if kind == "vacancies" else table.c.vacancy_id.in_(select(vacancies.c.id).where(own)))
    return clauses


def _pseudonymise_audit(conn: Any, worker_id: str, pseudonym: str) -> None:
    """The audit log keeps what was done and by which key, but names an erased worker (and their
    outcomes, ``worker|vacancy|stage``) only by the keyed pseudonym."""
    conn.execute(audit_log.update().where(audit_log.c.kind == "workers", audit_log.c.record_id == worker_id)
                 .values(record_id=pseudonym))
    prefix = worker_id + "|"
    conn.execute(audit_log.update()
                 .where(audit_log.c.kind == "outcomes",
                        func.substr(audit_log.c.record_id, 1, len(prefix)) == prefix)
                 .values(record_id=literal(pseudonym, String).concat(
                     func.substr(audit_log.c.record_id, len(worker_id) + 1, type_=String))))


def _values(row: StoredRow, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "doc": json.dumps(row.doc, ensure_ascii=False, sort_keys=True, default=str),
            "content_hash": row.content_hash, "updated_at": now, **row.columns}


def _doc(row: Any) -> dict[str, Any]:
    doc = json.loads(row["doc"])
    if "birth_date" in row and row["birth_date"] is not None:
        doc["birth_date"] = row["birth_date"].isoformat()
    return doc


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten with zeros (erasure)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
