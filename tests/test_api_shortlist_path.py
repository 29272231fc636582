"""A shortlist's fixed costs were cut (issue 15) without moving its audit off the answer's path: the
lines are committed before the route returns, so an answer never goes out without them, and a
failed audit means no answer. The audit's SQLite fast path writes the rows SQLAlchemy wrote.

Known by construction: the tiny market of ``api_fixtures`` (W1 and W2 in East Java, job order V1).
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest
from api_fixtures import NAMES, make_api
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from sepadan.api import routes_matching
from sepadan.store.keys import audit, audit_trail
from sepadan.store.schema import audit_log


@pytest.fixture(scope="module")
def api(tmp_path_factory, fake_encoder):
    return make_api(tmp_path_factory.mktemp("shortlist-path"), fake_encoder)


def test_every_worker_of_an_answer_is_in_the_audit_log_when_the_answer_arrives(api):
    with TestClient(api.app) as client:
        r = client.get("/v1/vacancies/V1/shortlist", headers=api.headers("officer_all"))
    ids = [x["worker_id"] for x in r.json()["results"]]
    assert r.status_code == 200 and ids
    for worker_id in ids:
        trail = audit_trail(api.engine.store, "workers", worker_id)
        assert any(e.key_id == api.key_ids["officer_all"] and e.route == "shortlist" for e in trail), worker_id


@pytest.mark.parametrize("where", ["thread pool", "event loop"])
def test_a_shortlist_whose_audit_fails_is_not_answered(api, monkeypatch, where):
    def broken(*args, **kwargs):
        raise RuntimeError("the audit log is unavailable")

    # every shortlist computed in the thread pool, or every one on the event loop (known quick)
    monkeypatch.setattr(routes_matching, "ON_LOOP", routes_matching.OnLoop(
        max_s=0.0 if where == "thread pool" else float("inf")))
    with TestClient(api.app, raise_server_exceptions=False) as client:
        assert client.get("/v1/vacancies/V1/shortlist", headers=api.headers("officer_all")).status_code == 200
        monkeypatch.setattr(routes_matching, "audit", broken)
        monkeypatch.setattr(routes_matching, "audit_now", broken)
        r = client.get("/v1/vacancies/V1/shortlist", headers=api.headers("officer_all"))
    assert r.status_code == 500
    assert not any(name in r.text for name in NAMES.values()) and "W1" not in r.text


def test_a_shortlist_whose_audit_must_wait_is_committed_in_the_thread_pool_before_it_is_answered(api, monkeypatch):
    committed = []
    monkeypatch.setattr(routes_matching, "ON_LOOP", routes_matching.OnLoop(max_s=float("inf")))
    with TestClient(api.app) as client:
        client.get("/v1/vacancies/V1/shortlist", headers=api.headers("officer_all"))
        loop_thread = client.portal.call(threading.current_thread)
        monkeypatch.setattr(routes_matching, "audit_now", lambda *args: False)  # the writer was busy
        monkeypatch.setattr(routes_matching, "audit", lambda *args: committed.append(threading.current_thread())
                            or audit(*args))
        r = client.get("/v1/vacancies/V1/shortlist", headers=api.headers("officer_all"))
    assert r.status_code == 200 and r.json()["results"]
    assert len(committed) == 1 and committed[0] is not loop_thread


def test_the_sqlite_audit_writes_the_rows_and_time_format_sqlalchemy_writes(api):
    store = api.engine.store
    audit(store, "k-fast", "read", "workers", ["W-FAST-1", "W-FAST-2"], "shortlist")
    with store.engine.begin() as conn:  # the generic path, as on PostgreSQL
        conn.execute(audit_log.insert(), [{"at": datetime.now(UTC), "key_id": "k-core", "action": "read",
                                           "kind": "workers", "record_id": "W-FAST-1", "route": "shortlist"}])
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT key_id, typeof(at), at FROM audit_log WHERE record_id = 'W-FAST-1' "
                                   "ORDER BY id")).all()
        second = conn.execute(select(audit_log.c.record_id).where(audit_log.c.key_id == "k-fast")).scalars().all()
    assert [(k, t) for k, t, _ in stored] == [("k-fast", "text"), ("k-core", "text")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", at) for _, _, at in stored), stored
    trail = audit_trail(store, "workers", "W-FAST-1")
    assert [(e.key_id, e.action, e.route) for e in trail] == [("k-fast", "read", "shortlist"),
                                                              ("k-core", "read", "shortlist")]
    assert trail[0].at <= trail[1].at and sorted(second) == ["W-FAST-1", "W-FAST-2"]
