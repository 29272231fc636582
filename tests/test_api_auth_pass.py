"""The key check's fast path (issue 15): a key that passed every check from an address is answered
from memory, without the store and without a thread hand-off, only while the answer is the one the
full check would give in this process.

Known by construction: the tiny market of ``api_fixtures`` with the failed-authentication limit at
3 a minute (shared counters in ``limits.db``); the store reads of the check are counted by wrapping
the throttle's ``blocked`` and the key cache's ``find_key``.
"""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest
from api_fixtures import make_api
from fastapi.testclient import TestClient

from sepadan.api import deps, security

ROUTE = "/v1/vacancies"


@pytest.fixture(scope="module")
def api(tmp_path_factory, fake_encoder):
    return make_api(tmp_path_factory.mktemp("auth-pass"), fake_encoder, api_auth_failures=3)


@pytest.fixture()
def reads(api, monkeypatch):
    """Counts of the check's store reads, and a fresh key cache and failure memory per test."""
    state = api.app.state.sepadan
    state.keys = security.KeyCache(api.engine.store)
    state.auth_failures.limiter.storage.reset()
    state.auth_failures._counted.clear()
    counts = {"blocked": 0, "find_key": 0}
    blocked, find_key = state.auth_failures.blocked, security.find_key

    def counting_blocked(who):
        counts["blocked"] += 1
        return blocked(who)

    def counting_find_key(store, token):
        counts["find_key"] += 1
        return find_key(store, token)

    monkeypatch.setattr(state.auth_failures, "blocked", counting_blocked)
    monkeypatch.setattr(security, "find_key", counting_find_key)
    return counts


def _client(api, address="10.0.0.1"):
    return TestClient(api.app, client=(address, 50000))


def test_a_key_that_passed_from_an_address_is_not_checked_against_the_store_again(api, reads):
    with _client(api) as client:
        statuses = [client.get(ROUTE, headers=api.headers("admin")).status_code for _ in range(4)]
    assert statuses == [200] * 4
    assert reads == {"blocked": 1, "find_key": 1}  # the first request only


def test_a_pass_is_per_address_and_per_key(api, reads):
    with _client(api, "10.0.0.1") as one, _client(api, "10.0.0.2") as two:
        assert one.get(ROUTE, headers=api.headers("admin")).status_code == 200
        assert two.get(ROUTE, headers=api.headers("admin")).status_code == 200  # the key is cached, not the pass
        assert one.get(ROUTE, headers=api.headers("planner")).status_code == 200
    assert reads == {"blocked": 3, "find_key": 2}


def test_a_failure_from_the_address_voids_its_passes_and_a_block_answers_429_to_a_known_key(api, reads):
    with _client(api) as client:
        assert client.get(ROUTE, headers=api.headers("admin")).status_code == 200
        assert client.get(ROUTE, headers={"X-API-Key": "sk_guess_0"}).status_code == 401
        assert client.get(ROUTE, headers=api.headers("admin")).status_code == 200  # checked again: 1 failure of 3
        assert reads["blocked"] == 3
        guesses = [client.get(ROUTE, headers={"X-API-Key": f"sk_guess_{i}"}).status_code for i in (1, 2)]
        known = client.get(ROUTE, headers=api.headers("admin"))
    assert guesses == [401, 401]
    assert known.status_code == 429, known.text  # what the full check says: the pass was voided
    assert reads["blocked"] == 6


def test_a_pass_ends_with_the_cached_key_record(api, reads, monkeypatch):
    with _client(api) as client:
        assert client.get(ROUTE, headers=api.headers("admin")).status_code == 200
        clock = security.time.monotonic() + security.KeyCache(None).ttl + 1
        monkeypatch.setattr(security.time, "monotonic", lambda: clock)
        assert client.get(ROUTE, headers=api.headers("admin")).status_code == 200
    assert reads == {"blocked": 2, "find_key": 2}  # looked up again, as a revocation would need


def test_the_fast_path_still_checks_the_role_of_the_route(api, reads):
    with _client(api) as client:
        assert client.get(ROUTE, headers=api.headers("planner")).status_code == 200
        denied = client.get("/v1/workers", headers=api.headers("planner"))
    assert denied.status_code == 403 and reads == {"blocked": 1, "find_key": 1}


def test_a_matcher_not_built_yet_is_built_in_a_worker_thread_not_on_the_event_loop():
    built_on = []

    class Engine:
        def built_matcher(self):
            return None

        @property
        def matcher(self):
            built_on.append(threading.current_thread())
            return "the matcher"

    async def resolve():
        return await deps.get_matcher(Engine()), threading.current_thread()

    matcher, loop_thread = asyncio.run(resolve())
    assert matcher == "the matcher" and built_on and built_on[0] is not loop_thread


def test_a_built_matcher_is_answered_at_once():
    engine = SimpleNamespace(built_matcher=lambda: "built")
    assert asyncio.run(deps.get_matcher(engine)) == "built"
