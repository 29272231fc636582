"""The API's promises about who sees what: the role x route matrix, region and tenant scoping, bounded
inputs, rate limits, personal data, erasure, live writes and swaps under traffic.

Everything runs in process (TestClient) over the tiny market of ``api_fixtures`` with the fake encoder;
each answer is known by construction (who lives in which region, which agency owns which job order).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from api_fixtures import NAMES, NIKS, OWN_PHRASE, REGIONS, Api, make_api, market
from conftest import TODAY, FakeEncoder, make_settings
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from sepadan.api import security
from sepadan.api.app import create_app
from sepadan.api.security import POLICY, PUBLIC, KeyDep
from sepadan.engine import Engine
from sepadan.matching.persist import load_index
from sepadan.store.keys import audit_trail, create_key
from sepadan.store.schema import audit_log, phrase_vectors

PROBLEM = "application/problem+json"
SIXTEEN_DIGITS = re.compile(r"(?<![\d.])\d{16}")  # not a float's mantissa (metrics)
ROLES = ("admin", "officer", "planner", "portal")
PORTAL_NIK = "9271014101900003"


# -- helpers --------------------------------------------------------------------------------------

def api_routes(app: Any) -> list[APIRoute]:
    """Every APIRoute of the app, with its full path (FastAPI >= 0.16x nests included routers)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is flat
        return [r for r in app.routes if isinstance(r, APIRoute)]
    return [rc.original_route for rc in iter_route_contexts(app.routes) if isinstance(rc.original_route, APIRoute)]


def policed_routes(app: Any) -> list[APIRoute]:
    """The routes the matrix walks: every APIRoute under /v1, and /metrics."""
    return [r for r in api_routes(app) if r.path.startswith("/v1/") or r.path == "/metrics"]


def is_problem(response: Any, status: int) -> bool:
    body = response.json()
    return (response.status_code == status and response.headers["content-type"].startswith(PROBLEM)
            and body["status"] == status and isinstance(body.get("title"), str))


def error_fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json().get("errors") or []]


def jsonl(*rows: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def stored_worker(api: Api, id_: str) -> dict[str, Any] | None:
    return api.engine.store.get("workers", id_)


@pytest.fixture(scope="module")
def api(tmp_path_factory, fake_encoder) -> Api:
    """The market, read by most tests; a test that writes to it only does so if the API is wrong."""
    return make_api(tmp_path_factory.mktemp("api"), fake_encoder)


@pytest.fixture(scope="module")
def client(api) -> Iterator[TestClient]:
    with TestClient(api.app) as c:
        yield c


# -- 1. the role x route matrix ---------------------------------------------------------------------

WORKER_W2 = next(w for w in market()["workers"] if w["id"] == "W2")
VACANCY_VD = next(v for v in market()["vacancies"] if v["id"] == "VD")
TRAINING_T1 = market()["trainings"][0]
AGENCY_A1 = market()["agencies"][0]
OUTCOME_W1_V1 = market()["outcomes"][0]
OUTCOME_ID = quote("W1|V1|shortlisted", safe="")


def matrix_request(name: str, caller: str) -> tuple[str, str, dict[str, Any]]:
    """(method, url, httpx keyword arguments) for one route: existing ids, a minimal valid body; a
    create uses a new id per caller, a delete a record kept for it (only admins may delete)."""
    new = f"N-{caller}"
    files = {
        "workers": jsonl(WORKER_W2), "vacancies": jsonl(VACANCY_VD), "trainings": jsonl(TRAINING_T1),
        "agencies": jsonl(AGENCY_A1), "outcomes": jsonl(OUTCOME_W1_V1)}
    table: dict[str, tuple[str, str, dict[str, Any]]] = {
        "health": ("GET", "/v1/health", {}), "version": ("GET", "/v1/version", {}),
        "metrics": ("GET", "/metrics", {}),
        "demand_gaps": ("GET", "/v1/planning/gaps", {}),
        "match_profile": ("POST", "/v1/match", {"json": {"id": "P-1", "region": "35.08", "skills": ["memasak"]}}),
        "shortlist": ("GET", "/v1/vacancies/V1/shortlist", {}),
        "create_allocation": ("POST", "/v1/allocations", {"json": {}}),
        "get_allocation": ("GET", "/v1/allocations/latest", {}),  # after create_allocation (route order)
        "recommend_for_worker": ("GET", "/v1/workers/W1/recommendations", {}),
        "explain_pair": ("GET", "/v1/workers/W1/explain/V1", {}),
        "export_worker": ("GET", "/v1/workers/W1/export", {}),
        "list_workers": ("GET", "/v1/workers", {}),
        "get_worker": ("GET", "/v1/workers/W1", {}),
        "create_worker": ("POST", "/v1/workers", {"json": {"id": f"W{new}", "region": "35.08"}}),
        "put_worker": ("PUT", "/v1/workers/W2", {"json": WORKER_W2}),
        "delete_worker": ("DELETE", "/v1/workers/W3", {}),
        "list_vacancies": ("GET", "/v1/vacancies", {}),
        "get_vacancy": ("GET", "/v1/vacancies/V1", {}),
        "create_vacancy": ("POST", "/v1/vacancies", {"json": {"id": f"V{new}", "title": "Cook", "country": "ID"}}),
        "put_vacancy": ("PUT", "/v1/vacancies/VD", {"json": VACANCY_VD}),
        "delete_vacancy": ("DELETE", "/v1/vacancies/VR", {}),
        "list_trainings": ("GET", "/v1/trainings", {}),
        "get_training": ("GET", "/v1/trainings/T1", {}),
        "create_training": ("POST", "/v1/trainings", {"json": {"id": f"T{new}", "title": "Las dasar"}}),
        "put_training": ("PUT", "/v1/trainings/T1", {"json": TRAINING_T1}),
        "delete_training": ("DELETE", "/v1/trainings/TX", {}),
        "list_agencies": ("GET", "/v1/agencies", {}),
        "get_agency": ("GET", "/v1/agencies/A1", {}),
        "create_agency": ("POST", "/v1/agencies", {"json": {"licence": f"A{new}", "status": "active"}}),
        "put_agency": ("PUT", "/v1/agencies/A1", {"json": AGENCY_A1}),
        "delete_agency": ("DELETE", "/v1/agencies/AX", {}),
        "list_outcomes": ("GET", "/v1/outcomes", {}),
        "get_outcome": ("GET", f"/v1/outcomes/{OUTCOME_ID}", {}),
        "create_outcome": ("POST", "/v1/outcomes",
                           {"json": {"worker_id": "W2", "vacancy_id": "VD", "stage": _STAGE[caller]}}),
        "put_outcome": ("PUT", f"/v1/outcomes/{OUTCOME_ID}", {"json": OUTCOME_W1_V1}),
        "delete_outcome": ("DELETE", f"/v1/outcomes/{quote('W1|V2|interviewed', safe='')}", {}),
        # administration (tests/admin_fixtures.py: versions 1 and 2, champion 2 after 1)
        "list_keys": ("GET", "/v1/keys", {}),
        "create_key": ("POST", "/v1/keys", {"json": {"role": "planner", "label": f"made by {caller}"}}),
        "revoke_key": ("DELETE", f"/v1/keys/{MATRIX_IDS.get('doomed', '0')}", {}),
        "list_models": ("GET", "/v1/models", {}),
        "get_model": ("GET", "/v1/models/1", {}),
        "promote_model": ("POST", "/v1/models/1/promote", {}),
        "rollback_model": ("POST", "/v1/models/rollback", {}),  # champion 2 back to 1
    }
    for kind, content in files.items():
        table[f"bulk_{kind}"] = ("POST", f"/v1/{kind}/bulk", {"files": {"file": (f"{kind}.jsonl", content)}})
    if name not in table:
        pytest.fail(f"the matrix has no request for route {name!r}: add one")
    return table[name]


MATRIX_IDS: dict[str, str] = {}  # ids made by the matrix_api fixture
_STAGE = {"none": "hired", "portal": "departed", "planner": "completed", "officer": "interviewed",
          "admin": "rejected", "unknown": "withdrew"}


@pytest.fixture(scope="module")
def matrix_api(tmp_path_factory, fake_encoder) -> Api:
    data = market()
    data["trainings"].append({"id": "TX", "title": "Kursus yang dihapus"})
    data["agencies"].append({"licence": "AX", "name": "PT Dihapus", "status": "active", "valid_until": "2028-01-01"})
    api = make_api(tmp_path_factory.mktemp("matrix"), fake_encoder, data=data)
    from admin_fixtures import register_rankers

    register_rankers(api.engine, 2, promote=(1, 2))
    MATRIX_IDS["doomed"] = create_key(api.engine.store, "planner", label="revoked by the matrix")[0].id
    return api


def test_every_role_meets_every_route_as_the_policy_says(matrix_api):
    """401 without a key (or with an unknown one) except the public routes; 403 exactly when the role
    is not in POLICY[route]; a 2xx answer when it is (valid ids and bodies)."""
    routes = policed_routes(matrix_api.app)
    assert {r.name for r in routes} >= {"shortlist", "match_profile", "get_worker", "metrics", "health"}
    seen: dict[tuple[str, str], int] = {}
    with TestClient(matrix_api.app) as client:
        # denied callers first, admin last: a delete is allowed once, to the admin
        for caller in ("none", "unknown", "portal", "planner", "officer", "admin"):
            for route in routes:
                (method,) = route.methods
                verb, url, kwargs = matrix_request(route.name, caller)
                assert verb == method, route.name
                headers = {} if caller == "none" else {
                    "X-API-Key": "sk_nope_" + "x" * 40 if caller == "unknown" else matrix_api.tokens[caller]}
                r = client.request(method, url, headers=headers, **kwargs)
                seen[(caller, route.name)] = r.status_code
                where = f"{caller} {method} {url} -> {r.status_code} {r.text[:300]}"
                if route.name in PUBLIC:
                    assert 200 <= r.status_code < 300, where
                elif caller in ("none", "unknown"):
                    assert is_problem(r, 401), where
                    assert "WWW-Authenticate" in r.headers, where
                elif caller in POLICY.get(route.name, frozenset()):
                    assert 200 <= r.status_code < 300, where
                else:
                    assert is_problem(r, 403), where
    assert len(seen) == 6 * len(routes)


def test_the_policy_names_every_route_and_only_routes_and_roles_that_exist(matrix_api):
    names = {r.name for r in policed_routes(matrix_api.app)}
    v1_private = {r.name for r in policed_routes(matrix_api.app) if r.name not in PUBLIC}
    assert v1_private <= set(POLICY), f"routes without a policy (denied to all): {v1_private - set(POLICY)}"
    assert set(POLICY) <= names, f"policy entries without a route: {set(POLICY) - names}"
    assert PUBLIC <= names
    assert all(roles <= set(ROLES) for roles in POLICY.values())
    assert len(names) == len(policed_routes(matrix_api.app)), "two routes share a name"


def test_every_policed_route_authenticates(matrix_api):
    """A route that forgets the key dependency would be open to anyone: walk each dependency tree."""

    def calls(dependant: Any) -> Iterator[Any]:
        for d in dependant.dependencies:
            yield d.call
            yield from calls(d)

    for route in policed_routes(matrix_api.app):
        if route.name not in PUBLIC:
            assert security.authenticate in set(calls(route.dependant)), route.name


def test_a_route_missing_from_the_policy_is_denied_to_every_role(matrix_api):
    app = create_app(matrix_api.engine.settings, engine=matrix_api.engine, background=False)

    def unlisted(key: KeyDep) -> dict[str, str]:
        return {"role": key.role}

    app.router.add_api_route("/v1/unlisted", unlisted, methods=["GET"], name="unlisted_route")
    assert "unlisted_route" not in POLICY
    with TestClient(app) as client:
        assert is_problem(client.get("/v1/unlisted"), 401)
        for role in ROLES:
            assert is_problem(client.get("/v1/unlisted", headers=matrix_api.headers(role)), 403), role


def test_a_key_works_as_a_bearer_token_and_an_overlong_one_is_refused(client, api):
    bearer = {"Authorization": f"Bearer {api.tokens['officer']}"}
    assert client.get("/v1/workers/W1", headers=bearer).status_code == 200
    assert is_problem(client.get("/v1/workers/W1", headers={"Authorization": "Bearer sk_nope"}), 401)
    assert is_problem(client.get("/v1/workers/W1", headers={"X-API-Key": api.tokens["officer"] + "x" * 200}), 401)
    assert is_problem(client.get("/v1/planning/gaps", headers=bearer), 403)


def test_the_portal_reaches_only_matching_and_public_vacancy_data():
    portal = {name for name, roles in POLICY.items() if "portal" in roles}
    assert portal == {"match_profile", "list_vacancies", "get_vacancy"}


def test_deletes_and_imports_are_for_admins_only():
    admin_only = {name for name in POLICY if name.startswith(("delete_", "bulk_"))}
    assert len(admin_only) == 10
    assert all(POLICY[name] == {"admin"} for name in admin_only), {n: POLICY[n] for n in admin_only}


def test_the_planner_reaches_no_route_with_personal_data(client, api):
    personal = {r.name for r in policed_routes(api.app)
                if r.path.startswith(("/v1/workers", "/v1/outcomes")) or r.name in ("shortlist", "match_profile")}
    planner = {name for name, roles in POLICY.items() if "planner" in roles}
    assert personal and not planner & personal
    for route in policed_routes(api.app):
        if route.name in planner and "{" not in route.path and "GET" in route.methods:
            text = client.get(route.path, headers=api.headers("planner")).text
            assert not any(s in text for s in [*NAMES.values(), *NIKS.values(), "1996-05-05", '"personal":'])


# -- 2. region and tenant scoping ---------------------------------------------------------------

W3_BODY = next(w for w in market()["workers"] if w["id"] == "W3")


@pytest.mark.parametrize("template", ["/v1/workers/{id}", "/v1/workers/{id}/explain/V2",
                                      "/v1/workers/{id}/recommendations", "/v1/workers/{id}/export"])
def test_another_regions_worker_is_not_found_exactly_like_a_missing_one(client, api, template):
    r = client.get(template.format(id="W3"), headers=api.headers("officer"))
    missing = client.get(template.format(id="W9"), headers=api.headers("officer"))
    assert is_problem(r, 404), r.text
    assert r.text.replace("W3", "W9") == missing.text  # the same answer: existence is not revealed
    assert client.get(template.format(id="W3"), headers=api.headers("admin")).status_code == 200


@pytest.mark.parametrize("region", ["53.01", "35.08"])  # as it is; pulled into the officer's own region
def test_another_regions_worker_cannot_be_overwritten(client, api, region):
    before = stored_worker(api, "W3")
    r = client.put("/v1/workers/W3", json={**W3_BODY, "region": region, "skills": ["mengelas"]},
                   headers=api.headers("officer"))
    assert is_problem(r, 404), r.text
    assert stored_worker(api, "W3") == before


def test_an_officers_shortlist_holds_only_the_workers_of_their_regions(client, api):
    everyone = client.get("/v1/vacancies/V1/shortlist", headers=api.headers("admin")).json()["results"]
    assert {r["worker_id"] for r in everyone} == {"W1", "W2", "W3"}  # all three are eligible
    mine = client.get("/v1/vacancies/V1/shortlist", headers=api.headers("officer")).json()["results"]
    assert {r["worker_id"] for r in mine} == {"W1", "W2"}
    assert all(r["region"].startswith("35.") for r in mine)


def test_an_officer_lists_and_counts_only_their_regions_workers(client, api):
    page = client.get("/v1/workers", params={"limit": 1}, headers=api.headers("officer")).json()
    assert [w["id"] for w in page["items"]] == ["W1"] and page["total"] == 2
    page = client.get("/v1/workers", params={"offset": 1}, headers=api.headers("officer")).json()
    assert [w["id"] for w in page["items"]] == ["W2"] and page["total"] == 2
    assert client.get("/v1/workers", headers=api.headers("admin")).json()["total"] == 3
    outcomes = client.get("/v1/outcomes", headers=api.headers("officer")).json()
    assert {o["worker_id"] for o in outcomes["items"]} == {"W1"} and outcomes["total"] == 2


def test_an_agency_key_does_not_see_another_agencys_job_order_or_outcomes(client, api):
    h = api.headers("officer_a1")
    assert client.get("/v1/vacancies/V1/shortlist", headers=h).status_code == 200
    r = client.get("/v1/vacancies/V2/shortlist", headers=h)
    assert is_problem(r, 404) and "A2" not in r.text
    assert client.get("/v1/vacancies/V2/shortlist", headers=api.headers("officer")).status_code == 200
    assert is_problem(client.get(f"/v1/outcomes/{quote('W1|V2|interviewed', safe='')}", headers=h), 404)
    listed = client.get("/v1/outcomes", headers=h).json()
    assert {o["vacancy_id"] for o in listed["items"]} == {"V1"} and listed["total"] == 1


def test_an_agency_keys_export_holds_only_its_own_outcomes(client, api):
    h = api.headers("officer_a1")
    listed = {(o["worker_id"], o["vacancy_id"]) for o in client.get("/v1/outcomes", headers=h).json()["items"]}
    exported = client.get("/v1/workers/W1/export", headers=h).json()["outcomes"]
    assert {(o["worker_id"], o["vacancy_id"]) for o in exported} <= listed
    assert "V2" not in json.dumps(exported)


def test_a_write_outside_the_keys_region_or_agency_is_refused_and_stores_nothing(client, api):
    r = client.post("/v1/workers", json={"id": "W-NTT", "region": "53.01"}, headers=api.headers("officer"))
    assert is_problem(r, 422) and "body.region" in error_fields(r)
    assert stored_worker(api, "W-NTT") is None
    r = client.post("/v1/vacancies", json={"id": "V-A2", "title": "Cook", "country": "TW", "agency_licence": "A2"},
                    headers=api.headers("officer_a1"))
    assert is_problem(r, 422) and "body.agency_licence" in error_fields(r)
    assert api.engine.store.get("vacancies", "V-A2") is None
    r = client.post("/v1/outcomes", json={"worker_id": "W3", "vacancy_id": "V2", "stage": "hired"},
                    headers=api.headers("officer"))
    assert is_problem(r, 422) and api.engine.store.get("outcomes", "W3|V2|hired") is None


@pytest.mark.parametrize(("key", "vacancy_id", "licence"), [("officer_a1", "V2", "A1"), ("officer", "V1", None)])
def test_a_put_cannot_take_over_another_agencys_job_order(tmp_path, fake_encoder, key, vacancy_id, licence):
    api = make_api(tmp_path, fake_encoder)
    before = api.engine.store.get("vacancies", vacancy_id)
    body = {**next(v for v in market()["vacancies"] if v["id"] == vacancy_id), "agency_licence": licence,
            "title": "Taken over"}
    with TestClient(api.app) as client:
        r = client.put(f"/v1/vacancies/{vacancy_id}", json=body, headers=api.headers(key))
    assert r.status_code in (403, 404, 422), r.text
    assert api.engine.store.get("vacancies", vacancy_id) == before


# -- 3. bodies and bounds ---------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "key", "body", "field"), [
    ("/v1/workers", "officer", {"id": "W-X1", "region": "35.08", "role": "admin"}, "body.role"),
    ("/v1/workers", "officer", {"id": "W-X2", "region": "35.08",
                                "languages": [{"language": "ja", "level": "N4", "role": "admin"}]},
     "body.languages.0.role"),
    ("/v1/workers", "officer", {"id": "W-X3", "region": "35.08", "preferences": {"countries": ["JP"], "x": 1}},
     "body.preferences.x"),
    ("/v1/vacancies", "officer_a1", {"id": "V-X1", "title": "Cook", "agency_licence": "A1", "agency": "A2"},
     "body.agency"),
    ("/v1/vacancies", "admin", {"id": "V-X2", "title": "Cook", "salary": {"amount": 1, "owner": "A2"}},
     "body.salary.owner"),
    ("/v1/match", "portal", {"id": "P-X", "skills": ["memasak"], "tenant": "A2"}, "body.tenant"),
])
def test_an_unknown_field_anywhere_is_422_naming_it_and_writes_nothing(client, api, path, key, body, field):
    kind = path.rsplit("/", 1)[-1]
    r = client.post(path, json=body, headers=api.headers(key))
    assert is_problem(r, 422) and field in error_fields(r), r.text
    if kind in ("workers", "vacancies"):
        assert api.engine.store.get(kind, body["id"]) is None


def test_a_put_whose_body_id_differs_from_the_path_is_422_and_writes_nothing(client, api):
    before = stored_worker(api, "W2")
    r = client.put("/v1/workers/W2", json={**WORKER_W2, "id": "W-OTHER", "skills": ["mengelas"]},
                   headers=api.headers("admin"))
    assert is_problem(r, 422) and "body.id" in error_fields(r)
    assert stored_worker(api, "W2") == before and stored_worker(api, "W-OTHER") is None


@pytest.mark.parametrize(("url", "ok"), [
    ("/v1/vacancies/V1/shortlist?k={}", 200), ("/v1/workers/W1/recommendations?k={}", 200),
    ("/v1/workers?limit={}", 200), ("/v1/outcomes?limit={}", 200),
])
def test_k_and_page_size_stop_at_200(client, api, url, ok):
    h = api.headers("admin")
    assert client.get(url.format(200), headers=h).status_code == ok
    for bad in (201, 0, -1, 10**12):
        r = client.get(url.format(bad), headers=h)
        assert is_problem(r, 422), (bad, r.text)
    assert is_problem(client.post("/v1/match?k=201", json={"id": "P"}, headers=api.headers("portal")), 422)


@pytest.fixture(scope="module")
def small_api(tmp_path_factory, fake_encoder) -> Api:
    return make_api(tmp_path_factory.mktemp("small"), fake_encoder, api_json_max_bytes=2048,
                    api_upload_max_bytes=8192)


def test_a_json_body_over_the_limit_is_413_and_writes_nothing(small_api):
    body = {"id": "W-BIG", "region": "35.08", "skills": [f"keahlian nomor {i}" for i in range(150)]}
    assert len(json.dumps(body)) > 2048
    with TestClient(small_api.app) as client:
        r = client.post("/v1/workers", json=body, headers=small_api.headers("admin"))
        assert is_problem(r, 413), r.text
        # the same body streamed, without a Content-Length: counted while it arrives
        chunks = (json.dumps(body)[i:i + 500].encode() for i in range(0, len(json.dumps(body)), 500))
        r = client.post("/v1/workers", content=chunks,
                        headers={**small_api.headers("admin"), "Content-Type": "application/json"})
        assert is_problem(r, 413), r.text
        small = {**body, "skills": body["skills"][:10]}
        assert client.post("/v1/workers", json={**small, "id": "W-SMALL"},
                           headers=small_api.headers("admin")).status_code == 201
    assert stored_worker(small_api, "W-BIG") is None and stored_worker(small_api, "W-SMALL") is not None


def test_an_upload_over_its_limit_is_413_and_one_under_it_passes(small_api):
    """Uploads have their own, larger limit: 5 kB passes (over the JSON limit), 9 kB does not."""
    def upload(n: int) -> bytes:
        rows = [{"id": f"T-UP-{i}", "title": f"Kursus {i}", "provider": "LPK"} for i in range(n)]
        return jsonl(*rows)

    fits, too_big = upload(80), upload(150)
    assert 2048 < len(fits) < 8192 < len(too_big)
    with TestClient(small_api.app) as client:
        r = client.post("/v1/trainings/bulk", files={"file": ("t.jsonl", too_big)}, headers=small_api.headers("admin"))
        assert is_problem(r, 413), r.text
        assert small_api.engine.store.get("trainings", "T-UP-0") is None
        r = client.post("/v1/trainings/bulk", files={"file": ("t.jsonl", fits)}, headers=small_api.headers("admin"))
        assert r.status_code == 200 and r.json()["inserted"] == 80, r.text


def test_every_error_is_problem_json(client, api):
    assert is_problem(client.get("/v1/no-such-route"), 404)
    assert is_problem(client.patch("/v1/workers/W1", json={}, headers=api.headers("admin")), 405)
    assert is_problem(client.post("/v1/workers", content=b"{not json", headers={
        **api.headers("admin"), "Content-Type": "application/json"}), 422)
    assert is_problem(client.post("/v1/trainings/bulk", files={"file": ("t.exe", b"MZ")},
                                  headers=api.headers("admin")), 415)
    assert is_problem(client.post("/v1/workers", json={"id": "W1"}, headers=api.headers("admin")), 409)


# -- 4. rate limit ------------------------------------------------------------------------------------

def test_the_fourth_quick_request_of_a_key_is_429_with_retry_after(tmp_path, fake_encoder):
    api = make_api(tmp_path, fake_encoder, api_rate_limit=60, api_rate_burst=3)
    with TestClient(api.app) as client:
        statuses = [client.get("/v1/vacancies", headers=api.headers("admin")).status_code for _ in range(3)]
        r = client.get("/v1/vacancies", headers=api.headers("admin"))
        other = client.get("/v1/vacancies", headers=api.headers("planner"))
    assert statuses == [200, 200, 200]
    assert is_problem(r, 429)
    assert re.fullmatch(r"[1-9]\d*", r.headers["Retry-After"]), r.headers
    assert other.status_code == 200


# -- 5. personal data ---------------------------------------------------------------------------------

PROFILE_WITH_NIK = {"id": PORTAL_NIK, "nik": PORTAL_NIK, "name": "Rina Wati", "birth_date": "1990-01-01",
                    "gender": "F", "region": "35.08", "skills": ["merawat lansia", f"kode {PORTAL_NIK}"],
                    "documents": {"passport": True}}


def test_the_portals_match_never_carries_a_16_digit_number(client, api):
    r = client.post("/v1/match", json=PROFILE_WITH_NIK, headers=api.headers("portal"))
    assert r.status_code == 200 and r.json()["results"], r.text
    assert not SIXTEEN_DIGITS.search(r.text), r.text
    assert "Rina Wati" not in r.text and "1990-01-01" not in r.text
    bad = client.post("/v1/match", json={**PROFILE_WITH_NIK, "nik": PORTAL_NIK + "9"}, headers=api.headers("portal"))
    assert is_problem(bad, 422) and not SIXTEEN_DIGITS.search(bad.text)


def test_the_portals_vacancy_reads_never_carry_a_16_digit_number(tmp_path, fake_encoder):
    data = market()
    data["vacancies"][0]["description"] = f"Hubungi Bu Rina (NIK {PORTAL_NIK}) di kantor desa"
    api = make_api(tmp_path, fake_encoder, data=data)
    with TestClient(api.app) as client:
        assert PORTAL_NIK in client.get("/v1/vacancies/V1", headers=api.headers("admin")).text  # it is stored
        for url in ("/v1/vacancies", "/v1/vacancies/V1", "/v1/vacancies?limit=200"):
            r = client.get(url, headers=api.headers("portal"))
            assert r.status_code == 200 and not SIXTEEN_DIGITS.search(r.text), url


def test_no_portal_answer_of_any_route_carries_a_16_digit_number(client, api):
    """Every route, with the portal key: denied ones, errors and 404s included."""
    for route in policed_routes(api.app):
        (method,) = route.methods
        _, url, kwargs = matrix_request(route.name, "portal")
        r = client.request(method, url, headers=api.headers("portal"), **kwargs)
        assert not SIXTEEN_DIGITS.search(r.text), (route.name, r.text[:300])


def test_a_portal_404_does_not_echo_a_16_digit_id(client, api):
    r = client.get(f"/v1/vacancies/{PORTAL_NIK}", headers=api.headers("portal"))
    assert r.status_code == 404 and not SIXTEEN_DIGITS.search(r.text), r.text


def staff_answers(client: TestClient, api: Api, key: str) -> list[Any]:
    h = api.headers(key)
    return [client.get(u, headers=h) for u in (
        "/v1/workers", "/v1/workers/W1", "/v1/workers/W2", "/v1/workers/W1/export", "/v1/vacancies/V1/shortlist",
        "/v1/workers/W1/recommendations", "/v1/workers/W1/explain/V1", "/v1/outcomes")]


@pytest.mark.parametrize("key", ["officer", "officer_all", "admin"])
def test_staff_see_the_nik_only_masked_to_its_last_four_digits(client, api, key):
    answers = staff_answers(client, api, key)
    assert all(r.status_code == 200 for r in answers), [r.text[:200] for r in answers]
    text = "\n".join(r.text for r in answers)
    assert not any(nik in text for nik in NIKS.values())
    assert not SIXTEEN_DIGITS.search(text)
    w1 = answers[1].json()
    assert w1["personal"] == {"name": NAMES["W1"], "nik_masked": "*" * 12 + NIKS["W1"][-4:],
                              "birth_date": "1996-05-05"}
    assert "nik" not in w1 and "name" not in w1
    for item in answers[0].json()["items"]:
        assert item["personal"]["nik_masked"] == "*" * 12 + NIKS[item["id"]][-4:]


def test_neither_a_nik_nor_a_name_reaches_the_logs(tmp_path, fake_encoder, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sepadan")
    api = make_api(tmp_path, fake_encoder)
    new = {**WORKER_W2, "id": "W-LOG", "name": "Ayu Kartika", "nik": "3508015505990004"}
    secrets = [*NIKS.values(), *NAMES.values(), new["name"], new["nik"], PORTAL_NIK, "Rina Wati"]
    admin, officer = api.headers("admin"), api.headers("officer")
    with TestClient(api.app, raise_server_exceptions=False) as client:
        answers = [
            client.post("/v1/workers", json=new, headers=admin),
            client.put("/v1/workers/W-LOG", json={**new, "skills": ["memasak"]}, headers=officer),
            client.post("/v1/workers", json={**new, "id": "W-BAD", "nik": "12345"}, headers=admin),
            client.post("/v1/workers", json={**new, "id": "W-BAD", "nik": int(new["nik"])}, headers=admin),
            client.post("/v1/workers/bulk", files={"file": ("w.jsonl", jsonl({**new, "id": "W-BULK"}))}, headers=admin),
            client.post("/v1/workers/bulk", files={"file": ("w.jsonl", jsonl({**new, "id": "W-B2", "nik": "1"}))},
                        headers=admin),
            client.post("/v1/match", json=PROFILE_WITH_NIK, headers=api.headers("portal")),
            *staff_answers(client, api, "officer"),
            client.get("/v1/workers/W-LOG/export", headers=officer),
            client.delete("/v1/workers/W-LOG", headers=admin),
        ]
    assert [r.status_code for r in answers[:7]] == [201, 200, 422, 422, 200, 422, 200], [r.text for r in answers]
    assert caplog.records, "expected the import, the build and the requests to log something"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "") + repr(record.args)
        assert not any(s in text for s in secrets), (record.name, text[:500])


# -- 6. erasure ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cached_api(tmp_path_factory) -> Api:
    """An engine whose phrase cache is the store's table (a bare encoder, wrapped by the engine)."""
    return make_api(tmp_path_factory.mktemp("cached"), FakeEncoder())


def phrase_rows(api: Api, needle: str) -> list[str]:
    with api.engine.store.engine.connect() as conn:
        return list(conn.execute(select(phrase_vectors.c.text).where(phrase_vectors.c.text.contains(needle))).scalars())


def test_a_portal_profiles_own_words_are_not_cached(cached_api):
    phrase = "menjahit payung qwz"
    with TestClient(cached_api.app) as client:
        r = client.post("/v1/match", json={"id": "P-1", "region": "35.08", "skills": ["merawat lansia", phrase],
                                           "experience": [{"occupation": "penjahit payung qwz", "years": 3}]},
                        headers=cached_api.headers("portal"))
    assert r.status_code == 200
    assert phrase_rows(cached_api, "qwz") == []


def test_deleting_a_worker_erases_them_from_store_index_caches_and_disk(cached_api, fake_encoder):
    api, engine = cached_api, cached_api.engine
    home = engine.settings.home
    with TestClient(api.app) as client:
        m = engine.matcher
        old_vector = m.workers.index.vectors[m.workers.positions["W1"]].copy()
        assert OWN_PHRASE in stored_worker(api, "W1")["skills"]
        assert phrase_rows(api, "zaitun"), "precondition: W1's own phrase is in the phrase cache (translated)"
        cached = len(phrase_rows(api, ""))
        assert engine.store.count("outcomes") == 3
        r = client.delete("/v1/workers/W1", headers=api.headers("admin"))
        assert r.status_code == 204 and r.content == b""
        assert is_problem(client.get("/v1/workers/W1", headers=api.headers("admin")), 404)
        for url in ("/v1/workers/W1/export", "/v1/workers/W1/recommendations", "/v1/workers/W1/explain/V1"):
            assert is_problem(client.get(url, headers=api.headers("admin")), 404), url
        for v in ("V1", "V2", "VD"):
            r = client.get(f"/v1/vacancies/{v}/shortlist", params={"include_ineligible": True, "k": 200},
                           headers=api.headers("admin"))
            assert r.status_code == 200 and "W1" not in {x["worker_id"] for x in r.json()["results"]}
            assert NAMES["W1"] not in r.text
        assert is_problem(client.delete("/v1/workers/W1", headers=api.headers("admin")), 404)

    # the live index, searched with W1's own vector
    m = engine.matcher
    _, positions = m.workers.index.search(old_vector[None, :], len(m.workers.records) + 5)
    found = {m.workers.records[p].id for p in positions[0] if p >= 0}
    assert found == {"W2", "W3"}
    # the store: no row, no personal fields, no outcomes; the phrase only W1 wrote is gone
    assert engine.store.raw("workers", "W1") is None and engine.personal.of_many(["W1"]) == {}
    assert not [o for o in engine.store.rows("outcomes") if o["worker_id"] == "W1"]
    assert engine.store.count("outcomes") == 1
    assert phrase_rows(api, "zaitun") == []
    assert len(phrase_rows(api, "")) == cached - 1, "only W1's own phrase left the cache"
    # a fresh process's view of the files on disk
    fresh = Engine(make_settings(home), encoder=fake_encoder, today=TODAY)
    _, ids, manifest = load_index(home / "index" / "workers", model=fresh.encoder.name)
    assert "W1" not in ids and sorted(ids) == ["W2", "W3"] and manifest.count == 2
    for path in (home / "index" / "workers").rglob("ids.json"):
        assert "W1" not in json.loads(path.read_text()), path
    for path in (home / "index" / "workers").rglob("vectors.npy"):
        vectors = np.load(path, allow_pickle=False)
        assert not np.any(np.abs(vectors @ old_vector - 1.0) < 1e-5), path
    assert "W1" not in fresh.store.ids("workers")


# -- 7. live writes and the audit log -----------------------------------------------------------------

BEST = {"id": "W-BEST", "name": "Ayu Kartika", "nik": "3501016606990005", "gender": "F", "birth_date": "1998-06-06",
        "region": "35.01", "education": "SMA", "skills": ["tend to elderly people", "use cooking techniques",
                                                          "merawat lansia", "memasak"],
        "languages": [{"language": "ja", "test": "JLPT", "level": "N3"}],
        "experience": [{"occupation": "home-based personal care worker", "years": 6, "country": "TW"}],
        "documents": market()["workers"][0]["documents"], "preferences": {"countries": ["TW"]}, "available": True}


def test_a_written_worker_is_searchable_at_once_and_leaves_when_moved_out_of_scope(tmp_path, fake_encoder):
    api = make_api(tmp_path, fake_encoder)
    admin, officer = api.headers("admin"), api.headers("officer")

    def shortlist() -> list[str]:
        r = client.get("/v1/vacancies/V1/shortlist", headers=officer)
        assert r.status_code == 200
        return [x["worker_id"] for x in r.json()["results"]]

    with TestClient(api.app) as client:
        assert shortlist() == ["W1", "W2"]
        assert client.post("/v1/workers", json=BEST, headers=admin).status_code == 201
        assert shortlist()[0] == "W-BEST"
        assert client.get("/v1/workers/W-BEST", headers=officer).status_code == 200
        moved = client.put("/v1/workers/W-BEST", json={**BEST, "region": "53.01"}, headers=admin)
        assert moved.status_code == 200 and moved.json()["updated"] == 1
        assert shortlist() == ["W1", "W2"]
        assert is_problem(client.get("/v1/workers/W-BEST", headers=officer), 404)
        assert client.delete("/v1/workers/W-BEST", headers=admin).status_code == 204

    alias = api.engine.vault.pseudonym("W-BEST")  # erased: the trail is kept under a keyed pseudonym
    assert audit_trail(api.engine.store, "workers", "W-BEST") == []
    trail = audit_trail(api.engine.store, "workers", alias)
    officer_id, admin_id = api.key_ids["officer"], api.key_ids["admin"]
    assert [(e.key_id, e.action) for e in trail] == [
        (admin_id, "create"), (officer_id, "read"), (officer_id, "read"), (admin_id, "update"), (admin_id, "delete")]
    assert [e.route for e in trail if e.action == "read"] == ["shortlist", "get_worker"]
    assert all(e.at is not None and e.kind == "workers" and e.record_id == alias for e in trail)
    with api.engine.store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(audit_log)).mappings()]
    dumped = json.dumps(rows, default=str)
    assert rows and not any(s in dumped for s in [BEST["name"], BEST["nik"], *NAMES.values(), *NIKS.values()])


def test_the_audit_log_names_the_route_that_was_called(tmp_path, fake_encoder):
    api = make_api(tmp_path, fake_encoder)
    new = {**WORKER_W2, "id": "W-AUDIT"}
    with TestClient(api.app) as client:
        assert client.put("/v1/workers/W-AUDIT", json=new, headers=api.headers("admin")).status_code == 200
        assert client.put("/v1/workers/W-AUDIT", json={**new, "skills": ["memasak"]},
                          headers=api.headers("admin")).status_code == 200
        assert client.delete("/v1/workers/W-AUDIT", headers=api.headers("admin")).status_code == 204
    routes = {r.name for r in policed_routes(api.app)}
    trail = audit_trail(api.engine.store, "workers", api.engine.vault.pseudonym("W-AUDIT"))  # erased
    assert [e.action for e in trail] == ["create", "update", "delete"]
    assert all(e.route in routes for e in trail), [e.route for e in trail]
    assert [e.route for e in trail] == ["put_worker", "put_worker", "delete_worker"]


def test_export_returns_everything_stored_on_a_worker(client, api):
    doc = stored_worker(api, "W1")
    r = client.get("/v1/workers/W1/export", headers=api.headers("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"worker", "outcomes", "audit", "index"} <= set(body)
    worker = body["worker"]
    assert {k: v for k, v in worker.items() if k != "personal"} == {k: v for k, v in doc.items() if k != "birth_date"}
    assert worker["personal"] == {"name": NAMES["W1"], "nik_masked": "*" * 12 + NIKS["W1"][-4:],
                                  "birth_date": doc["birth_date"]}
    assert {(o["vacancy_id"], o["stage"]) for o in body["outcomes"]} == {("V1", "shortlisted"), ("V2", "interviewed")}
    assert any(e["action"] == "export" and e["key_id"] == api.key_ids["admin"] for e in body["audit"])
    assert body["index"] == {"workers": True}
    assert NIKS["W1"] not in r.text and REGIONS["W1"] == worker["region"]


# -- 8. a swap under traffic --------------------------------------------------------------------------

def test_no_request_fails_while_writes_swap_the_matcher(tmp_path, fake_encoder):
    api = make_api(tmp_path, fake_encoder)
    statuses: list[int] = []
    writes: list[int] = []
    lock = threading.Lock()
    with TestClient(api.app) as client:
        def read(n: int) -> None:
            for i in range(50):
                v = ("V1", "V2", "VD")[(n + i) % 3]
                s = client.get(f"/v1/vacancies/{v}/shortlist", headers=api.headers("officer_all")).status_code
                with lock:
                    statuses.append(s)

        def write() -> None:
            for i in range(20):
                skills = ["merawat lansia", f"keahlian ke-{i}"] + (["memasak"] if i % 2 else [])
                body = {**WORKER_W2, "skills": skills, "region": ("35.09", "53.02")[i % 2]}
                writes.append(client.put("/v1/workers/W2", json=body, headers=api.headers("admin")).status_code)

        threads = [threading.Thread(target=read, args=(n,)) for n in range(4)] + [threading.Thread(target=write)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert len(statuses) == 200 and set(statuses) == {200}, sorted(set(statuses))
    assert writes == [200] * 20
    m = api.engine.matcher  # the last write is the one served
    assert m.workers.records[m.workers.positions["W2"]].region == "53.02"
    assert "keahlian ke-19" in m.workers.records[m.workers.positions["W2"]].skills
