"""A shortlist answers its vacancy and its names from memory while nothing was written (issue 15),
and never serves them stale: a write or an erasure by another process, on its own connection to the
same SQLite file, shows in the very next shortlist; this process's audit lines do not count as a
write (they go through the one connection whose own commits ``PRAGMA data_version`` leaves alone).

Known by construction: the tiny market of ``api_fixtures`` (job order V1 of agency A1 shortlists
W1, W2 and W3 for an officer of every region; ``officer_a1`` sees only A1's job orders).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from api_fixtures import NAMES, make_api
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from sepadan.store.changes import ChangeWatch, Remembered
from sepadan.store.db import Store
from sepadan.store.keys import audit

# another process, on its own connection to the same file: sqlite3 alone, no sepadan code
OTHER = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit(); c.close()"


def _other_process(store: Store, sql: str) -> None:
    subprocess.run([sys.executable, "-c", OTHER, store.engine.url.database, sql], check=True, timeout=60)


@pytest.fixture
def api(tmp_path, fake_encoder):
    return make_api(tmp_path, fake_encoder)


def _shortlist(client, api, key: str = "officer_all"):
    return client.get("/v1/vacancies/V1/shortlist", headers=api.headers(key))


def _names(client, api) -> dict[str, str]:
    r = _shortlist(client, api)
    assert r.status_code == 200
    return {x["worker_id"]: x["name"] for x in r.json()["results"]}


def test_audit_lines_are_not_a_change_and_every_other_write_is(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    before = store.changes.version()
    assert before is not None
    audit(store, "k1", "read", "workers", ["W1", "W2"], "shortlist")
    assert store.changes.version() == before  # this process's audit writer
    with store.engine.begin() as conn:  # a pooled connection of this same process
        conn.exec_driver_sql("INSERT INTO api_keys (id, key_hash, role, regions, created_at) "
                             "VALUES ('k2', 'h', 'admin', '[]', '2026-11-01')")
    after_pool = store.changes.version()
    assert after_pool != before
    _other_process(store, "DELETE FROM api_keys WHERE id = 'k2'")
    assert store.changes.version() not in (None, after_pool)


def test_nothing_is_remembered_without_a_sqlite_file():
    memory = Store.open("sqlite://")
    assert memory.changes.enabled is False and memory.changes.version() is None
    audit(memory, "k1", "read", "workers", ["W1"], "shortlist")  # written through the pool as before
    with memory.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar_one() == 1


def test_the_second_shortlist_reads_neither_the_vacancy_nor_the_names(api, monkeypatch):
    store, reads = api.engine.store, []
    real_get, real_sealed = store.get, store.sealed_many
    monkeypatch.setattr(store, "get", lambda kind, id_: reads.append(kind) or real_get(kind, id_))
    monkeypatch.setattr(store, "sealed_many", lambda ids: reads.append("names") or real_sealed(ids))
    with TestClient(api.app) as client:
        first = _names(client, api)
        assert reads.count("vacancies") == 1 and reads.count("names") == 1
        assert _names(client, api) == first == NAMES
    assert reads.count("vacancies") == 1 and reads.count("names") == 1


def test_a_vacancy_changed_by_another_process_is_read_by_the_next_shortlist(api):
    store = api.engine.store
    with TestClient(api.app) as client:
        assert _shortlist(client, api, "officer_a1").status_code == 200
        assert _shortlist(client, api, "officer_a1").status_code == 200  # from memory now
        _other_process(store, "UPDATE vacancies SET doc = json_set(doc, '$.agency_licence', 'A2') WHERE id = 'V1'")
        assert _shortlist(client, api, "officer_a1").status_code == 404  # no longer A1's job order
        assert _shortlist(client, api).status_code == 200
        _other_process(store, "DELETE FROM vacancies WHERE id = 'V1'")
        assert _shortlist(client, api).status_code == 404


def test_a_name_written_or_erased_by_another_process_is_in_the_next_shortlist(api):
    store = api.engine.store
    with TestClient(api.app) as client:
        assert _names(client, api) == NAMES
        assert _names(client, api) == NAMES  # from memory now
        _other_process(store, "UPDATE workers SET pii_enc = (SELECT pii_enc FROM workers WHERE id = 'W2') "
                              "WHERE id = 'W1'")  # W1's sealed fields are now W2's
        assert _names(client, api)["W1"] == NAMES["W2"]
        _other_process(store, "DELETE FROM workers WHERE id = 'W3'")
        assert set(_names(client, api)) == {"W1", "W2"}


def test_this_process_writing_a_name_through_another_connection_is_seen(api):
    store = api.engine.store
    with TestClient(api.app) as client:
        assert _names(client, api) == NAMES
        with store.engine.begin() as conn:  # not through the API: no word to the names held
            conn.exec_driver_sql("UPDATE workers SET pii_enc = (SELECT pii_enc FROM workers WHERE id = 'W3') "
                                 "WHERE id = 'W2'")
        assert _names(client, api)["W2"] == NAMES["W3"]


def test_a_busy_audit_writer_means_the_store_is_read(tmp_path):
    watch = ChangeWatch(Store.open(f"sqlite:///{tmp_path / 's.db'}").engine)
    assert watch.version() is not None
    with watch._lock:  # another thread is writing audit lines: no waiting, no answer from memory
        assert watch.version() is None


OPS = st.lists(st.tuples(st.sampled_from(["get", "put", "write"]), st.integers(0, 3), st.integers(0, 9)),
               max_size=60)


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_remembered_answers_only_what_was_put_at_the_current_version(ops):
    """Against a model: the store's version moves on every write; a get answers the value last put
    for the key at the version it asks about, and only at that version."""
    held, model, version = Remembered(max_entries=3), {}, 0
    for op, key, value in ops:
        if op == "write":
            version += 1
        elif op == "put":
            held.put(key, version, value)
            model[key] = (version, value)
        else:
            hit, got = held.get(key, version)
            if hit:
                assert model[key] == (version, got)
            elif key in model and model[key][0] == version:
                assert len(held) == 3  # only an eviction may drop a current entry
        assert len(held) <= 3
    assert held.get(0, None) == (False, None)
