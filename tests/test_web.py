"""The web app: sign-in, sessions, CSRF, policy and scoping, language, pages, exports, outcomes.

Over the API tests' tiny market: W1 (35.08) and W2 (35.09) in East Java, W3 (53.01) in East Nusa
Tenggara; job orders V1 (agency A1), V2 (A2), VR (revoked agency AR), VD (domestic).
"""

from __future__ import annotations

import csv
import io
import logging
import re

import pytest
from api_fixtures import NAMES, NIKS
from openpyxl import load_workbook
from web_fixtures import csrf_of, make_web, sign_in

from sepadan.store.keys import create_key, revoke_key
from sepadan.store.web_sessions import create_link


@pytest.fixture(scope="module")
def web(tmp_path_factory, fake_encoder):
    w = make_web(tmp_path_factory.mktemp("web"), fake_encoder)
    yield w
    w.close()


# -- sign-in, cookies, sessions ---------------------------------------------------------------

def test_pages_need_a_session(web):
    client = web.anonymous()
    for path in ("/job-orders", "/job-orders/V1", "/workers", "/workers/W1", "/outcomes"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=")


def test_sign_in_sets_a_strict_http_only_cookie(web):
    client = web.anonymous()
    r = sign_in(client, web.api.tokens["officer"])
    assert r.status_code == 303 and r.headers["location"] == "/job-orders"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("sepadan_session="))
    flags = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= flags and "samesite=strict" in cookie.lower()
    assert "secure" not in flags  # plain http here; https sets Secure (next test)
    token = cookie.split(";")[0].split("=", 1)[1]
    assert web.api.tokens["officer"] not in cookie and token not in web.api.tokens.values()
    assert client.get("/job-orders").status_code == 200


def test_cookie_is_secure_over_https(web):
    from fastapi.testclient import TestClient

    with TestClient(web.api.app, base_url="https://testserver", follow_redirects=False) as client:
        r = sign_in(client, web.api.tokens["officer"])
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("sepadan_session="))
        assert "secure" in cookie.lower()


def test_a_wrong_key_and_a_portal_key_cannot_sign_in(web):
    client = web.anonymous()
    assert sign_in(client, "sk_nope_nothing").status_code == 401
    r = sign_in(client, web.api.tokens["portal"])
    assert r.status_code == 403 and "sepadan_session" not in r.headers.get("set-cookie", "")
    assert client.get("/workers/W1").status_code == 303


def test_sign_in_form_without_its_token_is_refused(web):
    client = web.anonymous()
    r = client.post("/signin", data={"key": web.api.tokens["admin"], "signin_csrf": "forged"})
    assert r.status_code == 403 and "sepadan_session" not in r.headers.get("set-cookie", "")


def test_sign_out_ends_the_session(web):
    client = web.client("officer")
    cookie = client.cookies.get("sepadan_session")
    assert client.post("/signout", data={"csrf": client.csrf}).status_code == 303
    assert client.get("/job-orders").status_code == 303
    again = web.anonymous()
    again.cookies.set("sepadan_session", cookie)  # the old cookie, replayed
    assert again.get("/job-orders").status_code == 303


def test_session_expires(web):
    client = web.client("officer")
    assert client.get("/job-orders").status_code == 200
    web.clock.advance(hours=7, minutes=59)
    assert client.get("/job-orders").status_code == 200
    web.clock.advance(minutes=2)
    assert client.get("/job-orders").status_code == 303
    web.clock.advance(hours=-8, minutes=-1)  # back for the other tests


def test_revoking_the_key_ends_its_sessions(web):
    key, token = create_key(web.api.engine.store, "officer", regions=("35",), label="short-lived")
    client = web.anonymous()
    assert sign_in(client, token).status_code == 303
    assert client.get("/job-orders").status_code == 200
    revoke_key(web.api.engine.store, key.id)
    assert client.get("/job-orders").status_code == 303


def test_one_time_link_signs_in_once_and_expires(web):
    store = web.api.engine.store
    key = next(k for k in __import__("sepadan.store.keys", fromlist=["x"]).list_keys(store) if k.label == "admin")
    link = create_link(store, key, now=web.clock(), ttl=web.api.app.state.web.link_ttl)
    client = web.anonymous()
    assert client.get(f"/signin?token={link}").status_code == 303
    assert client.get("/workers").status_code == 200
    assert web.anonymous().get(f"/signin?token={link}").status_code == 400  # used up
    late = create_link(store, key, now=web.clock(), ttl=web.api.app.state.web.link_ttl)
    web.clock.advance(minutes=16)
    try:
        assert web.anonymous().get(f"/signin?token={late}").status_code == 400
    finally:
        web.clock.advance(minutes=-16)


# -- CSRF ---------------------------------------------------------------------------------------

def test_form_posts_without_the_csrf_token_are_refused(web):
    client = web.client("officer")
    before = web.api.engine.store.count("outcomes")
    for data in ({"worker_id": "W1", "stage": "hired"}, {"worker_id": "W1", "stage": "hired", "csrf": "x" * 43}):
        r = client.post("/job-orders/V1/outcomes", data=data)
        assert r.status_code == 403
    assert client.post("/signout", data={}).status_code == 403
    assert web.api.engine.store.count("outcomes") == before


# -- policy and scoping -------------------------------------------------------------------------

def test_officer_of_region_35_never_sees_a_region_53_worker(web):
    client = web.client("officer")
    assert client.get("/workers/W3").status_code == 404
    pages = ["/workers", "/job-orders/V1", "/job-orders/V2?include_ineligible=true", "/outcomes",
             "/job-orders/V1/shortlist.csv", "/workers/W1"]
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert "W3" not in r.text and NAMES["W3"] not in r.text, path
    assert client.get("/job-orders/V1/compare?w=W1&w=W3").status_code == 404


def test_agency_officer_sees_only_its_job_orders_shortlists(web):
    client = web.client("officer_a1")
    assert client.get("/job-orders/V1").status_code == 200
    assert client.get("/job-orders/V2").status_code == 404


def test_planner_sees_no_worker_pages(web):
    client = web.client("planner")
    assert client.get("/job-orders").status_code == 200
    for path in ("/workers", "/workers/W1", "/job-orders/V1", "/outcomes"):
        assert client.get(path).status_code == 403, path


def test_every_role_sees_the_job_orders_with_licence_status(web):
    r = web.client("admin").get("/job-orders")
    assert r.status_code == 200
    row = re.search(r"<tr><td[^>]*><a href=\"/job-orders/VR\">.*?</tr>", r.text, re.S).group(0)
    assert "dicabut" in row  # the revoked agency's order is listed and says so
    filtered = web.client("admin").get("/job-orders?agency=A1").text
    assert "/job-orders/V1\"" in filtered and "/job-orders/V2\"" not in filtered


# -- pages ---------------------------------------------------------------------------------------

def test_shortlist_in_indonesian_then_english(web):
    client = web.client("officer")
    r = client.get("/job-orders/V1")
    assert r.status_code == 200 and 'lang="id"' in r.text
    assert NAMES["W1"] in r.text and "Alasan" in r.text
    assert "bisa merawat lansia" in r.text  # a reason rendered by the engine in Indonesian, with its Indonesian label
    en = client.get("/job-orders/V1?lang=en")
    assert 'lang="en"' in en.text and "Reasons" in en.text and "has tend to elderly people" in en.text
    assert client.cookies.get("lang") == "en"
    assert 'lang="en"' in client.get("/job-orders").text  # the cookie keeps it
    client.get("/job-orders?lang=id")


def test_include_ineligible_shows_the_rule_that_fails(web):
    client = web.client("officer_all")
    plain = client.get("/job-orders/VR").text
    assert "TIDAK memenuhi" not in plain
    shown = client.get("/job-orders/VR?include_ineligible=true").text
    assert "TIDAK memenuhi syarat" in shown and "dicabut" in shown


def test_compare_two_candidates(web):
    client = web.client("officer")
    r = client.get("/job-orders/V1/compare?w=W1&w=W2")
    assert r.status_code == 200 and NAMES["W1"] in r.text and NAMES["W2"] in r.text
    assert client.get("/job-orders/V1/compare?w=W1").status_code == 422


def test_exports_hold_the_shortlist(web):
    client = web.client("officer")
    r = client.get("/job-orders/V1/shortlist.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    api = client.get("/v1/vacancies/V1/shortlist?k=30", headers=web.api.headers("officer")).json()
    assert [row["worker_id"] for row in rows] == [x["worker_id"] for x in api["results"]]
    assert {"W1", "W2"} <= {row["worker_id"] for row in rows} and "W3" not in r.text
    assert rows[0]["name"] == api["results"][0]["name"]
    assert rows[0]["rank"] == "1" and rows[0]["reasons"]
    x = client.get("/job-orders/V1/shortlist.xlsx?lang=en")
    sheet = load_workbook(io.BytesIO(x.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["rank", "worker_id", "name"]
    assert [sheet.cell(row=i + 2, column=2).value for i in range(len(rows))] == [row["worker_id"] for row in rows]
    assert "has tend to elderly people" in " ".join(str(c.value) for c in sheet[2])
    client.get("/job-orders?lang=id")


def test_an_outcome_recorded_on_the_page_is_stored_and_shown(web):
    client = web.client("officer")
    page = client.get("/job-orders/V1")
    r = client.post("/job-orders/V1/outcomes", data={"csrf": csrf_of(page.text), "worker_id": "W2", "stage": "offered"})
    assert r.status_code == 303
    stored = web.api.engine.store.get("outcomes", "W2|V1|offered")
    assert stored is not None and stored["stage"] == "offered"
    shown = client.get(r.headers["location"]).text
    assert "ditawari" in shown
    assert "W2" in client.get("/outcomes?vacancy_id=V1").text
    out_of_scope = client.post("/job-orders/V1/outcomes", data={"csrf": client.csrf, "worker_id": "W3", "stage": "hired"})
    assert out_of_scope.status_code == 404 and web.api.engine.store.get("outcomes", "W3|V1|hired") is None


def test_worker_page_masks_the_nik(web):
    client = web.client("officer")
    r = client.get("/workers/W1")
    assert r.status_code == 200
    assert NIKS["W1"] not in r.text and NIKS["W1"][-4:] in r.text and "1996-05-05" not in r.text
    assert "Rekomendasi" in r.text and "Dokumen" in r.text and "paspor" in r.text
    assert "/job-orders/VR" not in r.text  # the revoked agency's order is never recommended


def test_xss_in_a_skill_renders_as_text(web):
    from sepadan.contract import MODELS

    evil = {"id": "WX", "region": "35.08", "skills": ["<script>alert(1)</script>"], "name": "<b>X</b>",
            "documents": {"passport": True}}
    web.api.engine.live.write("workers", [MODELS["workers"].model_validate(evil)])
    client = web.client("officer")
    for path in ("/workers/WX", "/workers"):
        text = client.get(path).text
        assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "<b>X</b>" not in text


def test_no_nik_or_birth_date_in_urls_or_logs(web, caplog):
    caplog.set_level(logging.DEBUG)
    client = web.client("admin")
    urls = []
    for path in ("/job-orders", "/job-orders/V1", "/workers", "/workers/W1", "/outcomes", "/job-orders/V1/compare?w=W1&w=W2"):
        text = client.get(path).text
        urls += re.findall(r'(?:href|action|src)="([^"]*)"', text)
    client.post("/job-orders/V1/outcomes", data={"csrf": client.csrf, "worker_id": "W1", "stage": "interviewed"})
    secrets = [*NIKS.values(), "1996-05-05", *NAMES.values(), *web.api.tokens.values()]
    for s in secrets:
        assert not any(s in u for u in urls), s
        assert s not in caplog.text, s


def test_pages_are_small_and_have_security_headers(web):
    client = web.client("admin")
    for path in ("/job-orders", "/job-orders/V1", "/workers", "/workers/W1", "/outcomes"):
        r = client.get(path)
        assert len(r.content) < 300_000
        assert "script-src 'self'" in r.headers["content-security-policy"] and r.headers["x-frame-options"] == "DENY"
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/v1/vacancies", headers=web.api.headers("admin")).status_code == 200  # the API still at /v1


def test_demo_sign_in_link_reuses_one_admin_key_and_signs_in_once(web):
    from sepadan.store.keys import list_keys
    from sepadan.store.web_sessions import DEMO_KEY_LABEL, demo_signin_token

    store = web.api.engine.store
    first, second = (demo_signin_token(store, now=web.clock()) for _ in range(2))
    demo_keys = [k for k in list_keys(store) if k.label == DEMO_KEY_LABEL]
    assert len(demo_keys) == 1 and demo_keys[0].role == "admin" and first != second
    client = web.anonymous()
    assert client.get(f"/signin?token={first}").status_code == 303
    assert client.get("/workers").status_code == 200
    assert web.anonymous().get(f"/signin?token={first}").status_code == 400


def test_one_course_away_names_the_course(web):
    client = web.client("officer")
    text = client.get("/job-orders/VJ").text
    section = text[text.index('id="one-course"'):text.index('id="outcomes"')]
    assert "/workers/W4" in section and "Bahasa Jepang N4" in section and "LPK Sakura" in section
    assert "W4" not in text[text.index('id="shortlist"'):text.index('id="one-course"')]  # not eligible yet
    r = client.get("/workers/W4").text
    assert "Bahasa Jepang N4" in r  # the worker page: the gap and the course that closes it


def test_closed_job_orders_are_listed_only_on_request(web):
    from sepadan.contract import MODELS
    from web_fixtures import caregiver

    old = caregiver("VOLD", "A1", deadline="2026-10-01")  # before the market's today, 2026-11-01
    web.api.engine.live.write("vacancies", [MODELS["vacancies"].model_validate(old)])
    client = web.client("admin")
    assert "/job-orders/VOLD\"" not in client.get("/job-orders").text
    assert "/job-orders/VOLD\"" in client.get("/job-orders?closed=true").text


MATRIX = {  # page -> status for admin, officer (35), officer_a1 (35, agency A1), officer_all, planner
    "/job-orders": (200, 200, 200, 200, 200),
    "/job-orders/V1": (200, 200, 200, 200, 403),
    "/job-orders/V2": (200, 200, 404, 200, 403),
    "/job-orders/V1/shortlist.csv": (200, 200, 200, 200, 403),
    "/workers": (200, 200, 200, 200, 403),
    "/workers/W1": (200, 200, 200, 200, 403),
    "/workers/W3": (200, 404, 404, 200, 403),
    "/outcomes": (200, 200, 200, 200, 403),
}


@pytest.mark.parametrize("role", ["admin", "officer", "officer_a1", "officer_all", "planner"])
def test_scoping_matrix(web, role):
    client = web.client(role)
    column = ["admin", "officer", "officer_a1", "officer_all", "planner"].index(role)
    got = {path: client.get(path).status_code for path in MATRIX}
    assert got == {path: statuses[column] for path, statuses in MATRIX.items()}
    outcomes = client.get("/outcomes").text if got["/outcomes"] == 200 else ""
    if role in ("officer", "officer_a1"):
        assert "/workers/W3" not in outcomes  # W3's outcomes are in region 53
    if role == "officer_a1":
        assert "/job-orders/V2" not in outcomes  # agency A2's job order
