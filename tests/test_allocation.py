"""Allocation across job orders: tiny markets whose optimum is known by hand, invariants on random
markets, the exact optimum against scipy, and the binding, the CLI and the API on tiny data."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date

import numpy as np
import pytest
from api_fixtures import REGIONS, make_api
from api_fixtures import market as api_market
from conftest import load_engine, write_jsonl
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sepadan.allocate import Quota, Request, allocate
from sepadan.allocation_report import allocation_json, allocation_sheets, write_tables
from sepadan.allocation_store import exclusive_shortlist, from_doc, store_allocation, to_doc
from sepadan.matching.allocation import allocate as solve
from sepadan.matching.allocation import graph, solve_flow, solve_greedy, violations
from sepadan.store.allocations import (
    AllocationLocked,
    forget_worker,
    latest_proposed,
    load,
    outcomes_since,
)


def market(arcs, order_capacity, worker_capacity, **optional):
    """A graph from (order, worker, score) triples."""
    order, worker, score = zip(*arcs, strict=True) if arcs else ((), (), ())
    return graph(order, worker, score, order_capacity, worker_capacity, **optional)


def pairs(g, s) -> set[tuple[int, int]]:
    return {(int(g.order[i]), int(g.worker[i])) for i in s.chosen}


# --- tiny markets, optimum by hand ----------------------------------------------------------------

def test_two_orders_competing_for_one_worker():
    # worker 0 fits order 0 (0.8) and order 1 (0.6); worker 1 fits only order 1 (0.5)
    g = market([(0, 0, 0.8), (1, 0, 0.6), (1, 1, 0.5)], [1, 1], [1, 1])
    s = solve_flow(g)
    assert pairs(g, s) == {(0, 0), (1, 1)} and s.total_score == pytest.approx(1.3)
    # without worker 1, order 1 stays empty: worker 0 is worth more to order 0
    g = market([(0, 0, 0.8), (1, 0, 0.6)], [1, 1], [1])
    assert pairs(g, solve_flow(g)) == {(0, 0)}


def test_a_remote_order_only_one_worker_fits_gets_that_worker():
    # order 0 (the city): workers 0 (0.9) and 1 (0.8); order 1 (remote): only worker 0 (0.5)
    g = market([(0, 0, 0.9), (0, 1, 0.8), (1, 0, 0.5)], [1, 1], [1, 1])
    flow, greedy = solve_flow(g), solve_greedy(g)
    assert pairs(g, flow) == {(0, 1), (1, 0)} and flow.total_score == pytest.approx(1.3) and flow.covered == 2
    assert pairs(g, greedy) == {(0, 0)} and greedy.total_score == pytest.approx(0.9) and greedy.covered == 1


def test_capacities_bind_on_both_sides():
    # an order with 2 slots and 3 candidates keeps its best two
    g = market([(0, 0, 0.9), (0, 1, 0.8), (0, 2, 0.7)], [2], [1, 1, 1])
    assert pairs(g, solve_flow(g)) == {(0, 0), (0, 1)}
    # a worker allowed 2 proposals, wanted by 3 orders, goes to the best two
    g = market([(0, 0, 0.5), (1, 0, 0.9), (2, 0, 0.7)], [1, 1, 1], [2])
    assert pairs(g, solve_flow(g)) == {(1, 0), (2, 0)}
    # an arc of capacity 2 (two identical workers) fills both positions
    g = market([(0, 0, 1.0)], [3], [2], arc_capacity=[2])
    assert solve_flow(g).proposals == 2


def test_cover_gives_every_position_a_proposal_before_backups():
    # two orders, 1 position and 2 slots each; both workers fit order 0 better
    g = market([(0, 0, 0.9), (0, 1, 0.9), (1, 0, 0.5), (1, 1, 0.5)], [2, 2], [1, 1], positions=[1, 1])
    score, cover = solve_flow(g, objective="score"), solve_flow(g, objective="cover")
    assert pairs(g, score) == {(0, 0), (0, 1)} and score.covered == 1 and score.total_score == pytest.approx(1.8)
    assert cover.covered == 2 and cover.total_score == pytest.approx(1.4)
    assert pairs(g, cover) == {(0, 0), (1, 1)}  # the tie goes to the first ids


def test_ties_go_to_the_first_order_and_the_first_worker():
    g = market([(0, 0, 0.7), (1, 0, 0.7)], [1, 1], [1])
    assert pairs(g, solve_flow(g)) == {(0, 0)}
    g = market([(0, 0, 0.7), (0, 1, 0.7)], [1], [1, 1])
    assert pairs(g, solve_flow(g)) == {(0, 0)}


def test_quotas_are_met_where_the_graph_allows_and_nested_groups_count_outward():
    # one slot; worker 0 (group 0) scores less than worker 1; the quota wants 1 proposal from group 0
    g = market([(0, 0, 0.2), (0, 1, 0.9)], [1], [1, 1], group=[0, -1], quota=[1])
    s = solve_flow(g)
    assert pairs(g, s) == {(0, 0)} and list(s.quota_met) == [1]
    # a quota the graph cannot meet is met as far as it can be, and costs nothing else
    g = market([(0, 0, 0.2), (0, 1, 0.9), (1, 1, 0.4)], [1, 1], [1, 1], group=[0, -1], quota=[3])
    s = solve_flow(g)
    assert pairs(g, s) == {(0, 0), (1, 1)} and list(s.quota_met) == [1]
    # group 1 (e.g. 35.08) lies in group 0 (35): its worker's proposal counts for both
    g = market([(0, 0, 0.1), (0, 1, 0.9), (1, 2, 0.9)], [1, 1], [1, 1, 1], group=[1, -1, -1],
               quota=[1, 0], parent=[-1, 0])
    s = solve_flow(g)
    assert pairs(g, s) == {(0, 0), (1, 2)} and list(s.quota_met) == [1, 1]


@pytest.mark.parametrize("bad, message", [
    (dict(arcs=[(0, 0, 1.5)]), "in \\[0, 1\\]"),
    (dict(arcs=[(0, 0, 0.5), (0, 0, 0.4)]), "appears twice"),
    (dict(arcs=[(2, 0, 0.5)]), "outside order_capacity"),
    (dict(arcs=[(0, 0, float("nan"))]), "finite"),
])
def test_bad_input_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        market(bad["arcs"], [1], [1])
    with pytest.raises(ValueError, match="method"):
        solve(market([(0, 0, 0.5)], [1], [1]), method="magic")


def test_an_empty_graph_allocates_nothing():
    s = solve_flow(market([], [2], [1]))
    assert s.proposals == 0 and s.total_score == 0 and violations(market([], [2], [1]), s) == []


# --- random markets: invariants, and the exact optimum against scipy ----------------------------------

@st.composite
def markets(draw, unit: bool = False):
    n_orders, n_workers = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    cells = [(o, w) for o in range(n_orders) for w in range(n_workers)]
    chosen = draw(st.lists(st.sampled_from(cells), unique=True, max_size=len(cells)))
    arcs = [(o, w, draw(st.integers(0, 1000)) / 1000) for o, w in sorted(chosen)]
    caps = st.just(1) if unit else st.integers(0, 3)
    positions = [draw(st.integers(0, 2)) for _ in range(n_orders)]
    order_capacity = [draw(caps) if unit else p * draw(st.integers(1, 2)) for p in positions]
    worker_capacity = [draw(caps) for _ in range(n_workers)]
    return market(arcs, order_capacity, worker_capacity, positions=None if unit else positions)


def milp_best(g) -> float:
    """The most total score any allocation reaches: an integer program for scipy's HiGHS."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    if g.n_arcs == 0:
        return 0.0
    arcs = np.arange(g.n_arcs)
    rows = np.concatenate([g.order, g.n_orders + g.worker])
    matrix = coo_matrix((np.ones(2 * g.n_arcs), (rows, np.concatenate([arcs, arcs]))),
                        shape=(g.n_orders + g.n_workers, g.n_arcs))
    limits = np.concatenate([g.order_capacity, g.worker_capacity]).astype(float)
    result = milp(-g.score, integrality=np.ones(g.n_arcs), bounds=Bounds(0, g.arc_caps()),
                  constraints=LinearConstraint(matrix, -np.inf, limits))
    return float(-result.fun)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets())
def test_allocations_keep_every_limit_and_the_flow_is_optimal(g):
    flow, cover, greedy = solve_flow(g), solve_flow(g, objective="cover"), solve_greedy(g)
    for s in (flow, cover, greedy):
        assert violations(g, s) == []  # no worker over their limit, no order over its capacity
        assert (s.flow <= g.arc_caps()).all()  # every proposal is an arc: an eligible pair
    assert flow.total_score >= greedy.total_score - 1e-9
    assert flow.total_score == pytest.approx(milp_best(g), abs=1e-9)
    assert cover.covered >= max(greedy.covered, flow.covered)
    assert cover.total_score <= flow.total_score + 1e-9


@settings(max_examples=100, deadline=None)
@given(markets(unit=True))
def test_with_unit_capacities_the_flow_equals_the_assignment_problem(g):
    from scipy.optimize import linear_sum_assignment

    dense = np.zeros((g.n_orders, g.n_workers))
    dense[g.order, g.worker] = g.score
    dense[g.order_capacity == 0, :] = 0
    dense[:, g.worker_capacity == 0] = 0
    rows, cols = linear_sum_assignment(dense, maximize=True)
    assert solve_flow(g).total_score == pytest.approx(dense[rows, cols].sum(), abs=1e-9)


def test_the_planners_filled_now_is_this_module_and_still_a_maximum_matching():
    from sepadan.planning.optimise import Candidate, PlanProblem, _Program, baseline, filled, group

    problem = PlanProblem((), {"V1": 2, "V2": 1, "V3": 1},
                          (Candidate("a", frozenset({"V1", "V2"})), Candidate("b", frozenset({"V2"})),
                           Candidate("c", frozenset({"V2"})), Candidate("d", frozenset({"V1", "V3"}))))
    mine = filled(baseline(problem))
    program = _Program(problem, group(problem), train=False)
    reference = sum(round(x) for x in program.solve().x)
    assert sum(mine.values()) == reference == 3 and mine["V2"] == 1 and mine.get("V3", 0) + mine["V1"] == 2


# --- the binding on a tiny engine -------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(tmp_path_factory, fake_encoder):
    return make_api(tmp_path_factory.mktemp("alloc-api"), fake_encoder)


@pytest.fixture(scope="module")
def client(api):
    with TestClient(api.app) as c:
        yield c


def test_every_order_gets_one_worker_and_each_worker_one_order(api):
    a = allocate(api.engine, Request(candidates_per_position=1))
    got = {p.vacancy_id: p.worker_id for p in a.proposals}
    assert set(got) == {"V1", "V2", "VD"}  # VR's agency is revoked: never allocated
    assert sorted(got.values()) == ["W1", "W2", "W3"]
    assert a.allocated.positions_covered == 3 and a.unfilled == () and a.idle == ()
    assert a.independent.most_orders_per_worker >= 2  # on their own, the shortlists share workers
    assert all(p.reasons for p in a.proposals) and a.model_version == "transparent-1"


def test_an_officers_allocation_stays_in_their_regions_and_says_why_an_order_is_unfilled(api):
    a = allocate(api.engine, Request(candidates_per_position=1, within=("35",)))
    assert {p.worker_id for p in a.proposals} == {"W1", "W2"}  # W3 lives in 53.01
    (u,) = a.unfilled
    assert u.why == "taken_by_better_fits" and u.unfilled == 1 and set(u.taken_by) <= {"V1", "V2", "VD"}
    considered = {c.worker_id for v in a.views for c in v.considered}
    assert "W3" not in considered and all(REGIONS[w].startswith("35") for w in considered)


def test_a_quota_moves_a_proposal_to_its_region(api):
    quota = allocate(api.engine, Request(candidates_per_position=1, region="35", k=3, quotas=(Quota("35.09", 1),)))
    assert [q.proposals for q in quota.quotas] == [1] and "W2" in {p.worker_id for p in quota.proposals}


def test_stored_allocations_reopen_and_are_never_silently_replaced(api, tmp_path):
    engine = api.engine
    first = store_allocation(engine, allocate(engine, Request(candidates_per_position=1)))
    assert first.id and from_doc(to_doc(first)) == first
    second = store_allocation(engine, allocate(engine, Request(candidates_per_position=1)), replace_id=first.id)
    assert second.id != first.id and second.replaces == first.id and second.fingerprint == first.fingerprint
    p = second.proposals[0]
    engine.import_file("outcomes", write_jsonl(tmp_path / "o.jsonl", [
        {"worker_id": p.worker_id, "vacancy_id": p.vacancy_id, "stage": "interviewed", "date": str(date.today())}]))
    assert outcomes_since(engine.store, second.id) == 1
    with pytest.raises(AllocationLocked, match="recorded outcome"):
        store_allocation(engine, allocate(engine, Request()), replace_id=second.id)
    assert latest_proposed(engine.store).allocation_id == second.id  # kept


def test_erasing_a_worker_removes_them_from_stored_allocations(tmp_path, fake_encoder):
    engine = load_engine(tmp_path, api_market(), encoder=fake_encoder)
    a = store_allocation(engine, allocate(engine, Request(candidates_per_position=1)))
    assert forget_worker(engine.store, "W2") == 1
    doc = load(engine.store, a.id).doc
    assert '"W2"' not in json.dumps(doc) and "W2" not in latest_proposed(engine.store).by_worker
    assert len(from_doc(doc).proposals) == 2


def test_an_exclusive_shortlist_leaves_out_workers_proposed_elsewhere(api):
    engine = api.engine
    a = store_allocation(engine, allocate(engine, Request(candidates_per_position=1)))
    mine = next(p.worker_id for p in a.proposals if p.vacancy_id == "V1")
    ml, ex = exclusive_shortlist(engine.matcher, engine.store, "V1", k=5)
    assert [m.worker_id for m in ml.results] == [mine] and ex.allocation_id == a.id
    assert len(ex.removed) == 2 and ex.elsewhere == {mine: 0}
    plain = engine.matcher.shortlist("V1", k=5)
    assert len(plain.results) == 3


def test_outputs_in_two_languages_and_three_formats(api, tmp_path):
    a = allocate(api.engine, Request(within=("35",), candidates_per_position=1))
    body = allocation_json(a, lang="id")
    assert body["unfilled"][0]["why_text"].startswith("kandidatnya")
    assert {s.name for s in allocation_sheets(a, "en")} == {"allocation", "orders", "unfilled", "unallocated",
                                                            "summary"}
    paths = write_tables(a, lang="en", csv=tmp_path / "a.csv", xlsx=tmp_path / "a.xlsx")
    assert (tmp_path / "a.csv").read_text().startswith("vacancy_id,title,country,worker_id")
    assert (tmp_path / "a-unfilled.csv").exists() and (tmp_path / "a.xlsx") in paths
    text = json.dumps(body)
    assert "Siti" not in text and "3508014101960001" not in text  # no names, no NIK


@pytest.fixture(scope="module")
def planning_engine(tmp_path_factory, fake_encoder):
    from test_planning import AGENCIES, TRAININGS, VACANCIES, WORKERS

    engine = load_engine(tmp_path_factory.mktemp("alloc-plan"), {"agencies": AGENCIES, "trainings": TRAININGS,
                                                                 "workers": WORKERS, "vacancies": VACANCIES},
                         encoder=fake_encoder)
    engine.build()
    return engine


def test_an_order_one_course_away_names_the_course(planning_engine):
    a = allocate(planning_engine, Request(region="35", start=date(2026, 11, 1), end=date(2027, 6, 30)))
    why = {u.vacancy_id: u for u in a.unfilled}
    n4 = why["V-JP-N4"]  # JLPT N4: only W-N4 has it; T-N4 (2 seats) teaches it in time, T-N4-LATE too late
    assert n4.unfilled >= 11 and [c.training_id for c in n4.courses] == ["T-N4"] and n4.courses[0].workers >= 3
    assert n4.why == "one_course_away" and n4.courses[0].free <= n4.courses[0].workers
    assert why["V-TW-MEN"].why == "no_eligible_worker" and why["V-TW-MEN"].courses == ()  # gender: no course
    assert "V-TW-BAD" not in {v.vacancy_id for v in a.views}  # non-procedural: never allocated


# --- the command line and the API ----------------------------------------------------------------------

def _cli(api, monkeypatch):
    import sepadan.cli.allocate as cli_allocate
    import sepadan.cli.core as core

    @contextmanager
    def fake(home, today=None):
        yield api.engine

    monkeypatch.setattr(cli_allocate, "_engine", fake)
    monkeypatch.setattr(core, "_engine", fake)
    return core.app


def test_cli_allocates_stores_and_reopens(api, monkeypatch, tmp_path):
    app = _cli(api, monkeypatch)
    runner = CliRunner()
    result = runner.invoke(app, ["allocate", "--candidates-per-position", "1", "--json", "--lang", "en",
                                 "--csv", str(tmp_path / "a.csv")])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert "wrote" in result.stderr and body["summary"]["positions_covered"] == 3 and body["id"].startswith("A-")
    again = runner.invoke(app, ["allocate", "--show", body["id"], "--json", "--lang", "en"])
    assert [o["allocated"] for o in json.loads(again.output)["orders"]] == [o["allocated"] for o in body["orders"]]
    shown = runner.invoke(app, ["shortlist", "V1", "--exclusive", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["exclusive"]["allocation_id"] == body["id"]


def test_cli_with_no_open_orders_says_so_and_exits_0(api, monkeypatch):
    app = _cli(api, monkeypatch)
    result = CliRunner().invoke(app, ["allocate", "--from", "2028-01-01", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "no open job orders" in result.output and "nothing to allocate" in result.output
    bad = CliRunner().invoke(app, ["allocate", "--quota", "35"])
    assert bad.exit_code != 0


def test_api_allocates_for_an_officer_and_reopens_by_scope(api, client):
    r = client.post("/v1/allocations", json={"candidates_per_position": 1}, headers=api.headers("officer"))
    assert r.status_code == 201, r.text
    body = r.json()
    workers = {p["worker_id"] for o in body["orders"] for p in o["allocated"]}
    assert workers == {"W1", "W2"} and body["unfilled"][0]["why"] == "taken_by_better_fits"
    tenant = client.get(f"/v1/allocations/{body['id']}", headers=api.headers("officer_a1")).json()
    assert [o["vacancy_id"] for o in tenant["orders"]] == ["V1"]
    assert client.get("/v1/allocations/latest", headers=api.headers("admin")).json()["id"] == body["id"]
    assert client.get("/v1/allocations/A-nope", headers=api.headers("admin")).status_code == 404
    assert client.post("/v1/allocations", json={"k": 0}, headers=api.headers("admin")).status_code == 422
    assert client.post("/v1/allocations", json={"colour": "red"}, headers=api.headers("admin")).status_code == 422
    assert client.post("/v1/allocations", json={}, headers=api.headers("planner")).status_code == 403
    none = client.post("/v1/allocations", json={"from": "2028-01-01"}, headers=api.headers("admin"))
    assert none.status_code == 200 and none.json()["id"] is None and "no open job orders" in none.json()["message"]


def test_api_refuses_to_replace_an_allocation_with_outcomes_and_marks_exclusive_shortlists(api, client, tmp_path):
    made = client.post("/v1/allocations", json={"candidates_per_position": 1}, headers=api.headers("admin")).json()
    p = next(x for o in made["orders"] for x in o["allocated"] if o["vacancy_id"] == "V2")
    client.post("/v1/outcomes", json={"worker_id": p["worker_id"], "vacancy_id": "V2", "stage": "interviewed",
                                      "date": str(date.today())}, headers=api.headers("admin"))
    r = client.post("/v1/allocations", json={"replace": made["id"]}, headers=api.headers("admin"))
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    short = client.get("/v1/vacancies/V2/shortlist?exclusive=true", headers=api.headers("admin")).json()
    assert [x["worker_id"] for x in short["results"]] == [p["worker_id"]]
    assert short["exclusive"] == {"allocation_id": made["id"], "removed": 2}
    assert short["results"][0]["proposed_elsewhere"] == 0
