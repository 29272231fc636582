"""Which shortlists are computed on the event loop (issue 15 item 3, ``routes_matching.OnLoop``):
only one whose last computation was quick, while no other shortlist is in flight; anything else
in the thread pool, so that a slow one never holds the loop (and every other request) back.

Known by construction: computations that say which thread ran them, made quick or slow through
``max_s`` (0: nothing is quick enough; infinity: everything is).
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from api_fixtures import make_api
from fastapi.testclient import TestClient

from sepadan.api import routes_matching
from sepadan.api.routes_matching import OnLoop


def _compute(ran: list):
    def compute():
        ran.append(threading.current_thread())
        return {"results": []}
    return compute


async def _run(on: OnLoop, memo: tuple, ran: list, *, now: bool = True, committed: list | None = None):
    committed = [] if committed is None else committed
    return await on.run(memo, _compute(ran), commit_now=lambda body: now,
                        commit=lambda body: committed.append(threading.current_thread()))


def test_a_first_computation_runs_in_the_thread_pool_and_a_quick_second_one_on_the_loop():
    async def twice():
        on, ran = OnLoop(max_s=float("inf")), []
        await _run(on, ("V1",), ran)
        await _run(on, ("V1",), ran)
        await _run(on, ("V2",), ran)  # another vacancy: not known yet
        return ran, threading.current_thread()

    ran, loop = asyncio.run(twice())
    assert [t is loop for t in ran] == [False, True, False]


def test_one_that_took_longer_than_the_bound_stays_in_the_thread_pool():
    async def thrice():
        on, ran = OnLoop(max_s=0.0), []
        for _ in range(3):
            await _run(on, ("V1",), ran)
        return ran, threading.current_thread()

    ran, loop = asyncio.run(thrice())
    assert not any(t is loop for t in ran)


def test_while_another_shortlist_is_in_flight_even_a_quick_one_runs_in_the_thread_pool():
    release = threading.Event()

    async def side_by_side():
        on, ran = OnLoop(max_s=float("inf")), []
        await _run(on, ("V1",), ran)  # V1 known quick
        slow = asyncio.ensure_future(on.run(("V2",), lambda: release.wait(30) and {"results": []},
                                            commit_now=lambda body: True, commit=lambda body: None))
        await asyncio.sleep(0.05)  # V2 is in the thread pool now
        await _run(on, ("V1",), ran)
        release.set()
        await slow
        await _run(on, ("V1",), ran)  # alone again
        return ran, threading.current_thread()

    ran, loop = asyncio.run(side_by_side())
    assert [t is loop for t in ran] == [False, False, True]


def test_lines_that_cannot_be_committed_without_waiting_are_committed_in_the_thread_pool():
    async def busy_then_free():
        on, ran, committed = OnLoop(max_s=float("inf")), [], []
        await _run(on, ("V1",), ran, committed=committed)  # in the pool: committed there
        await _run(on, ("V1",), ran, now=False, committed=committed)  # on the loop, the writer busy
        await _run(on, ("V1",), ran, now=True, committed=committed)  # on the loop, committed there
        return ran, committed, threading.current_thread()

    ran, committed, loop = asyncio.run(busy_then_free())
    assert [t is loop for t in ran] == [False, True, True]
    assert len(committed) == 2 and not any(t is loop for t in committed)


def test_a_failed_computation_leaves_nothing_in_flight_and_no_cost_behind():
    async def failing_then_quick():
        on, ran = OnLoop(max_s=float("inf")), []

        def broken():
            raise RuntimeError("no shortlist")

        with pytest.raises(RuntimeError):
            await on.run(("V1",), broken, commit_now=lambda body: True, commit=lambda body: None)
        await _run(on, ("V1",), ran)  # still not known: the pool; and alone: nothing left in flight
        await _run(on, ("V1",), ran)
        return ran, threading.current_thread()

    ran, loop = asyncio.run(failing_then_quick())
    assert [t is loop for t in ran] == [False, True]


def test_the_costs_held_are_bounded():
    async def many():
        on = OnLoop(max_s=float("inf"), max_entries=3)
        for i in range(10):
            await _run(on, (f"V{i}",), [])
        return on

    assert len(asyncio.run(many())._last) == 3


@pytest.fixture(scope="module")
def api(tmp_path_factory, fake_encoder):
    return make_api(tmp_path_factory.mktemp("on-loop"), fake_encoder)


def test_the_route_computes_a_known_quick_shortlist_on_the_loop_and_answers_the_same(api, monkeypatch):
    monkeypatch.setattr(routes_matching, "ON_LOOP", OnLoop(max_s=float("inf")))
    ran = []
    real = routes_matching.shortlist_body
    monkeypatch.setattr(routes_matching, "shortlist_body",
                        lambda *a, **kw: ran.append(threading.current_thread()) or real(*a, **kw))
    with TestClient(api.app) as client:
        loop = client.portal.call(threading.current_thread)
        first, second = (client.get("/v1/vacancies/V1/shortlist", headers=api.headers("officer_all"))
                         for _ in range(2))
        assert first.status_code == second.status_code == 200
        assert first.json()["results"] == second.json()["results"] != []
    assert [t is loop for t in ran] == [False, True]
