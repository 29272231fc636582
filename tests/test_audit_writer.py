"""The audit writer commits without waiting where it may not wait (issue 15: the shortlist route
commits its audit lines on the event loop), checkpoints the WAL off its commits, and loses nothing:

- ``wait=False`` writes nothing and says so while another connection holds SQLite's write lock, or
  another thread of this process is writing; an error that is not "busy" is raised, not swallowed;
- the writer's own connection never checkpoints inside a commit; a background thread does, and
  the writer checkpoints itself when no checkpoint finished for ``BEHIND`` rounds (the WAL stays
  bounded either way);
- lines committed and never checkpointed survive the process dying (the next open recovers the WAL).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from sepadan.store import changes
from sepadan.store.db import Store
from sepadan.store.keys import audit, audit_now, audit_trail


def _count(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar_one()


@pytest.fixture
def store(tmp_path):
    return Store.open(f"sqlite:///{tmp_path / 's.db'}")


def test_no_wait_writes_nothing_while_another_connection_holds_the_write_lock(store):
    other = sqlite3.connect(store.engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process importing, say
    try:
        assert audit_now(store, "k1", "read", "workers", ["W1", "W2"], "shortlist") is False
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _count(store) == 0
    assert audit_now(store, "k1", "read", "workers", ["W1", "W2"], "shortlist") is True
    assert [e.key_id for e in audit_trail(store, "workers", "W2")] == ["k1"]


def test_no_wait_writes_nothing_while_this_process_writes_elsewhere(store):
    with store.changes._lock:  # another thread of this process in the middle of an audit commit
        assert audit_now(store, "k1", "read", "workers", ["W1"], "shortlist") is False
    assert _count(store) == 0


def test_the_waiting_write_after_a_busy_one_waits_and_commits(store):
    other = sqlite3.connect(store.engine.url.database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    assert audit_now(store, "k1", "read", "workers", ["W1"], "shortlist") is False
    threading.Timer(0.3, lambda: (other.execute("ROLLBACK"), other.close())).start()
    audit(store, "k1", "read", "workers", ["W1"], "shortlist")  # the busy timeout waits for the lock
    assert _count(store) == 1
    assert store.changes._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000  # its timeout back


def test_an_error_that_is_not_busy_is_raised(store):
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        store.changes.write("INSERT INTO no_such_table VALUES (?)", [(1,)], wait=False)


def test_nothing_to_write_needs_no_writer():
    memory = Store.open("sqlite://")
    assert audit_now(memory, "k1", "read", "workers", [], "shortlist") is True
    assert audit_now(memory, "k1", "read", "workers", ["W1"], "shortlist") is False  # not a file: audit()


def test_the_writer_never_checkpoints_inside_its_commit(store):
    audit(store, "k1", "read", "workers", ["W1"], "shortlist")
    assert store.changes._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


def test_a_background_thread_checkpoints_every_round(store, monkeypatch):
    monkeypatch.setattr(changes, "CHECKPOINT_ROWS", 10)
    asked = []
    real_ask = changes.CHECKPOINTS.ask
    monkeypatch.setattr(changes.CHECKPOINTS, "ask", lambda watch: asked.append(watch) or real_ask(watch))
    for i in range(3):
        audit(store, "k1", "read", "workers", [f"W{i}-{j}" for j in range(4)], "shortlist")
    assert asked == [store.changes]  # 12 lines: one round
    assert store.changes.checkpointed.wait(60)  # the whole WAL copied into the database file


def test_the_wal_stays_bounded_with_no_checkpoint_thread(store, monkeypatch):
    monkeypatch.setattr(changes, "CHECKPOINT_ROWS", 10)
    monkeypatch.setattr(changes, "BEHIND", 2)
    monkeypatch.setattr(changes.CHECKPOINTS, "ask", lambda watch: None)  # the thread never runs
    for i in range(300):
        audit(store, "k1", "read", "workers", [f"W{i}"], "shortlist")
    page = store.changes._conn.execute("PRAGMA page_size").fetchone()[0]
    wal = store.engine.url.database + "-wal"
    assert os.path.getsize(wal) < 80 * page  # 300 commits of >= 2 frames each would be far more
    assert _count(store) == 300


WRITE_AND_DIE = """
import os, sys
from sepadan.store.db import Store
from sepadan.store.keys import audit
store = Store.open(sys.argv[1])
for i in range(50):
    audit(store, "k1", "read", "workers", [f"W{i}-{j}" for j in range(30)], "shortlist")
os._exit(0)  # no close, no checkpoint: what was committed is only in the WAL
"""


def test_lines_committed_and_never_checkpointed_survive_the_process_dying(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    Store.open(url)
    subprocess.run([sys.executable, "-c", WRITE_AND_DIE, url], check=True, timeout=120)
    assert (tmp_path / "s.db-wal").stat().st_size > 0
    assert _count(Store.open(url)) == 50 * 30
