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

The audit writer does not checkpoint the WAL inside its commits (``wal_autocheckpoint=0`` on its
connection: SQLite's automatic checkpoint ran inside about one shortlist's commit in 25 and fsynced
the database file there). Each :data:`CHECKPOINT_ROWS` audit lines it commits hand a PASSIVE
checkpoint to one background thread per process (:class:`Checkpoints`), on a pooled connection of
its own; should no checkpoint finish for :data:`BEHIND` rounds, the writer checkpoints inline, as
SQLite would have. What is committed is in the WAL whether or not it was checkpointed yet (a
crash loses none of it: the next connection recovers the log), and the WAL stays bounded as before.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)
CHECKPOINT_ROWS = 1000  # audit lines between two checkpoints (~1,300 WAL frames of 30-line commits)
BEHIND = 8  # rounds of CHECKPOINT_ROWS without a finished checkpoint before the writer checkpoints itself
_BUSY = (sqlite3.SQLITE_BUSY, getattr(sqlite3, "SQLITE_LOCKED", 6))


class ChangeWatch:
    """This process's audit writer on a SQLite file, and its ``data_version`` (see the module)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self.enabled = bool(database) and database != ":memory:" and "mode=memory" not in str(engine.url)
        self._lock = threading.Lock()
        self._conn: Any = None
        self._pid = 0
        self._timeout_ms = 30_000  # the held connection's busy timeout, read when it is made
        self._rows = 0  # audit lines committed since the last finished checkpoint (about)
        self.checkpointed = threading.Event()  # set by a background checkpoint that copied the whole WAL

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

    def write(self, statement: str, rows: list[tuple], *, wait: bool = True) -> bool:
        """``statement`` for each row, committed before this returns True (SQLite file only), through
        the connection whose own commits :meth:`version` does not count. ``wait=False``: False at
        once, nothing written, where it would wait (another thread of this process writing, or
        another connection holding SQLite's write lock): the caller writes again, waiting, where
        waiting does no harm (an event loop hands it to a thread)."""
        if not self._lock.acquire(blocking=wait):
            return False
        try:
            conn = self._connection()
            if not wait:
                conn.execute("PRAGMA busy_timeout=0")
            try:
                return self._commit(conn, statement, rows, wait=wait)
            finally:
                if not wait:
                    conn.execute(f"PRAGMA busy_timeout={self._timeout_ms}")
        finally:
            self._lock.release()

    def _commit(self, conn: Any, statement: str, rows: list[tuple], *, wait: bool) -> bool:
        try:
            conn.executemany(statement, rows)
            conn.commit()
        except sqlite3.OperationalError as e:
            conn.rollback()
            # the primary code: SQLITE_BUSY_SNAPSHOT and the like are busy too
            if not wait and (getattr(e, "sqlite_errorcode", sqlite3.SQLITE_BUSY) & 0xFF) in _BUSY:
                return False
            raise
        except BaseException:
            conn.rollback()
            raise
        self._committed(conn, len(rows))
        return True

    def _committed(self, conn: Any, rows: int) -> None:
        """Counts the lines since the last finished checkpoint: one is asked of the background
        thread at each :data:`CHECKPOINT_ROWS`, and run here at :data:`BEHIND` times as many."""
        if self.checkpointed.is_set():
            self.checkpointed.clear()
            self._rows = 0
        before, self._rows = self._rows, self._rows + rows
        if self._rows >= BEHIND * CHECKPOINT_ROWS:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self._rows = 0
        elif self._rows // CHECKPOINT_ROWS > before // CHECKPOINT_ROWS:
            CHECKPOINTS.ask(self)

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
            self._timeout_ms = self._conn.execute("PRAGMA busy_timeout").fetchone()[0]
            self._conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints off the commit (see the module)
            self._rows = 0
        return self._conn

    def checkpoint(self) -> None:
        """A PASSIVE checkpoint on a pooled connection (never this writer's: it keeps committing
        meanwhile); it copies what no reader still needs and waits for no one."""
        database = self.engine.url.database
        if not database or not os.path.exists(database):
            return  # gone (a test's folder removed): nothing to copy, and no empty file made
        with self.engine.connect() as conn:
            busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        if not busy and frames == copied:  # else a reader held some back: asked again next round
            self.checkpointed.set()


class Checkpoints:
    """One background thread per process that runs the checkpoints audit writers ask for
    (:meth:`ChangeWatch.checkpoint`), started on the first; a forked child starts its own."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[ChangeWatch] = queue.SimpleQueue()
        self._pid = 0
        self._lock = threading.Lock()

    def ask(self, watch: ChangeWatch) -> None:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._queue = queue.SimpleQueue()
                    threading.Thread(target=self._run, args=(self._queue,), name="sepadan-checkpoint",
                                     daemon=True).start()
                    self._pid = os.getpid()
        self._queue.put(watch)

    @staticmethod
    def _run(asked: queue.SimpleQueue) -> None:
        while True:
            watch = asked.get()
            try:
                watch.checkpoint()
            except Exception:  # noqa: BLE001 - the writer checkpoints itself when these fall behind
                log.warning("background WAL checkpoint failed", exc_info=True)


CHECKPOINTS = Checkpoints()


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
