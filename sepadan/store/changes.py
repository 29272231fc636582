"""Whether anything was written to the store since a moment, so that a read that cannot have
changed can be answered from memory (issue 15: a shortlist read its vacancy and 30 sealed names on
every request although almost nothing writes between two requests).

On a SQLite file one connection per process, held apart from the pool, writes the audit lines
and answers ``PRAGMA data_version``: SQLite changes that value for a connection whenever *another*
connection (of this process or any other) has committed since its last call, and leaves it for the
connection's own commits. So the audit lines a shortlist writes do not count as a change, and
every other write does: an import, an edit or an erasure through the API, the CLI or another server
process. A value read before a read of the store tags what was read; while the value is unchanged
the store holds the same data (:class:`Remembered`).

Elsewhere (PostgreSQL, an in-memory SQLite database) :meth:`ChangeWatch.version` answers None:
nothing is answered from memory and every read goes to the store, as before.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)


class ChangeWatch:
    """This process's audit writer on a SQLite file, and its ``data_version`` (see the module)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.enabled = bool(database) and database != ":memory:" and "mode=memory" not in str(engine.url)
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pid = 0

    def version(self) -> int | None:
        """A value that stays equal while no other connection commits; None when unknown (not a
        SQLite file, or this process's audit writer is busy at this moment): read the store then."""
        if not self.enabled or not self._lock.acquire(blocking=False):
            return None
        try:
            return self._connection().execute("PRAGMA data_version").fetchone()[0]
        except Exception:  # noqa: BLE001 - unknown: the caller reads the store, which says what is wrong
            log.debug("data_version unavailable", exc_info=True)
            return None
        finally:
            self._lock.release()

    def write(self, statement: str, rows: list[tuple]) -> None:
        """``statement`` for each row, committed before this returns (SQLite file only), through
        the connection whose own commits :meth:`version` does not count."""
        with self._lock:
            conn = self._connection()
            try:
                conn.executemany(statement, rows)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _connection(self) -> Any:
        """The held connection (made by the engine's pool, with its pragmas, then taken out of it);
        a fresh one in a forked child, which must not share its parent's."""
        if self._conn is None or self._pid != os.getpid():
            raw = self.engine.raw_connection()
            raw.detach()
            self._conn, self._pid = raw.dbapi_connection, os.getpid()
        return self._conn


class Bounded:
    """A lock-guarded map of at most ``max_entries`` keys held in this process's memory, the least
    recently used dropped first (:class:`Remembered`, and the personal data's name cache)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._held: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._held)

    def _keep(self, key: Hashable, value: Any) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._held[key] = value
            self._held.move_to_end(key)
            while len(self._held) > self.max_entries:
                self._held.popitem(last=False)

    def forget(self, keys: Iterable[Hashable]) -> None:
        with self._lock:
            for key in keys:
                self._held.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._held.clear()


class Remembered(Bounded):
    """Values read from the store, each tagged with the :meth:`ChangeWatch.version` read before it
    was read; one answers only while the version is the same (at most ``max_entries``, the least
    recently used dropped first). A None version is never remembered."""

    def get(self, key: Hashable, version: int | None) -> tuple[bool, Any]:
        if version is None:
            return False, None
        with self._lock:
            hit = self._held.get(key)
            if hit is None or hit[0] != version:
                return False, None
            self._held.move_to_end(key)
            return True, hit[1]

    def put(self, key: Hashable, version: int | None, value: Any) -> None:
        if version is not None:
            self._keep(key, (version, value))
