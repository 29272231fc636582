"""Rate-limit counters every server process shares: a `limits` storage over one SQL table.

Each counter is one row (``key``, ``hits``, ``expires_at``); :meth:`SqlCounters.incr` is a single
atomic upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) that starts a new window when the
old one has ended, so ``serve --workers N`` and several hosts on one PostgreSQL count together.

Beside an SQLite store the counters live in a file of their own (``limits.db`` in the data
directory), so a long import holding the store's write lock never stalls a request's count; on
PostgreSQL they are the store's ``rate_limits`` table (migration 0003).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from limits.storage import Storage
from sqlalchemy import Engine, case, create_engine, delete, event, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.schema import CreateTable

from sepadan.store.schema import rate_limits

_SWEEP_EVERY = 1000  # increments between deletions of ended windows


class SqlCounters(Storage):
    """Fixed-window counters in ``rate_limits`` (for :class:`limits.strategies.FixedWindowRateLimiter`)."""

    STORAGE_SCHEME = None  # made from an engine, not from a limits URI

    def __init__(self, engine: Engine, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.engine, self.clock = engine, clock
        self._since_sweep = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        ended = rate_limits.c.expires_at <= now
        stmt = _insert(self.engine)(rate_limits).values(key=key, hits=amount, expires_at=now + expiry)
        stmt = stmt.on_conflict_do_update(index_elements=[rate_limits.c.key], set_={
            "hits": case((ended, amount), else_=rate_limits.c.hits + amount),
            "expires_at": case((ended, now + expiry), else_=rate_limits.c.expires_at),
        }).returning(rate_limits.c.hits)
        with self.engine.begin() as conn:
            hits = conn.execute(stmt).scalar_one()
        self._sweep(now)
        return int(hits)

    def get(self, key: str) -> int:
        row = self._live(key)
        return int(row.hits) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return float(row.expires_at) if row else self.clock()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(delete(rate_limits)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(rate_limits).where(rate_limits.c.key == key))

    def _live(self, key: str) -> Any:
        query = select(rate_limits.c.hits, rate_limits.c.expires_at).where(
            rate_limits.c.key == key, rate_limits.c.expires_at > self.clock())
        with self.engine.connect() as conn:
            return conn.execute(query).first()

    def _sweep(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep < _SWEEP_EVERY:
            return
        self._since_sweep = 0
        with self.engine.begin() as conn:
            conn.execute(delete(rate_limits).where(rate_limits.c.expires_at <= now))


def open_counters(url: str) -> SqlCounters:
    """The counters in the database at ``url``, their table created if it is not there."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    for attempt in range(20):  # every server process may race to create it (IF NOT EXISTS) and to
        try:  # switch the file to WAL, which SQLite may refuse at once as locked rather than wait
            with engine.begin() as conn:
                conn.execute(CreateTable(rate_limits, if_not_exists=True))
            break
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == 19:
                raise
            engine.dispose()
            time.sleep(0.05 * (attempt + 1))
    return SqlCounters(engine)


def server_counters(*, store_engine: Engine, home: Path, url: str | None = None) -> SqlCounters:
    """The counters for a server: at ``url`` if given, else the store's own table on PostgreSQL,
    else ``limits.db`` in ``home`` beside an SQLite store."""
    if url is None and store_engine.dialect.name != "sqlite":
        return SqlCounters(store_engine)  # the table comes with the store's migrations
    if url is None:
        home.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{(home / 'limits.db').resolve()}"
    return open_counters(url)


def _insert(engine: Engine) -> Any:
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise NotImplementedError(f"rate-limit counters need SQLite or PostgreSQL, not {engine.dialect.name}")
    return insert


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")  # first: several processes switch to WAL at once
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # a count lost in a power cut only lets a few through
    cursor.close()
