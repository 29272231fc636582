"""The planner pages: aggregates only, the API's policy, CSRF on the plan form, charts that draw the
gap table's rows, the plan within a budget and its downloads, escaping inside the SVG.

Over the web tests' tiny market (tests/web_fixtures.py) with a cost on course T1 (Rp 2.000.000 per
trainee) and a domestic job order VX in 53.01 whose required skill and certificate are a script tag
(the skill's label comes out normalised, the certificate's as written: escaped in the SVG). Known by
construction for region 35 (East Java): open job orders V1, V2 (Taiwan), VD (domestic, 35.08) and VJ
(Japan, JLPT N4); VR's agency is revoked (left out); supply W1, W2 (caregivers with JLPT N4) and W4
(sews, no Japanese). W1 and W2 fill two of the four positions; T1 (Japanese N4) makes W4 eligible for
VJ: a budget of Rp 2.000.000 fills three, Rp 1.999.999 still two.

The answers are worked out in the background: the first request answers a page that says so and
refreshes itself. The ``planner`` and ``english`` clients here wait for the computation on that page
and ask again, as the page's refresh does; the tests of the background work use plain clients.
"""

from __future__ import annotations

import io
import re
import threading
from html.parser import HTMLParser

import pytest
from api_fixtures import NAMES, NIKS, make_api
from openpyxl import load_workbook
from web_fixtures import Clock, Web, csrf_of, web_market

from sepadan.planning.demand import GapRow, Scope
from sepadan.web import planner as planner_module
from sepadan.web.deps import PageError
from sepadan.web.planner import parse_choice
from sepadan.web.planner_charts import demand_supply_svg

XSS = "<script>alert(1)</script>"
WORKER_ID = re.compile(r"\bW[1-4]\b")
REFRESH = '<meta http-equiv="refresh"'


def planner_market() -> dict:
    data = web_market()
    data["trainings"][0]["cost_idr"] = 2_000_000
    data["vacancies"].append({"id": "VX", "title": "Penjaga toko", "country": "ID", "region": "53.01",
                              "scheme": "domestic", "sector": "retail", "skills_required": [XSS], "certificates_required": [XSS], "open": True,
                              "deadline": "2027-03-31"})
    return data


@pytest.fixture(scope="module")
def web(tmp_path_factory, fake_encoder):
    api = make_api(tmp_path_factory.mktemp("planner"), fake_encoder, data=planner_market())
    clock = Clock()
    api.app.state.web.clock = clock
    w = Web(api, clock)
    yield w
    w.close()


class Patient:
    """A signed-in client that, shown the "being worked out" page, waits for the computation and asks
    again (what the page's own refresh does in a browser)."""

    def __init__(self, client, app) -> None:
        self.client, self.app = client, app

    def get(self, path, **options):
        r = self.client.get(path, **options)
        if r.status_code == 200 and REFRESH in r.text:
            assert self.app.state.planner_jobs.settle(60)
            r = self.client.get(path, **options)
        return r

    def __getattr__(self, name):
        return getattr(self.client, name)


def jobs_of(web):
    return web.api.app.state.planner_jobs


@pytest.fixture(scope="module")
def planner(web):
    """A planner's session in Indonesian (``english`` is another one: ?lang=en sticks in a cookie)."""
    client = Patient(web.client("planner"), web.api.app)
    client.client.csrf = csrf_of(client.get("/planner").text)
    return client


@pytest.fixture(scope="module")
def english(web):
    return Patient(web.client("planner"), web.api.app)


class Page(HTMLParser):
    """The chart rows (``g.planner-row`` data attributes) and the gap table's rows of a planner page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.charts: list[dict[str, str]] = []
        self.table: dict[str, list[str]] = {}
        self.heads: list[str] = []
        self._row: str | None = None
        self._cell: list[str] | None = None
        self._in_gaps = self._in_head = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "g" and a.get("class") == "planner-row":
            self.charts.append({k[5:]: v for k, v in a.items() if k.startswith("data-")})
        elif tag == "table" and "planner-gaps" in (a.get("class") or ""):
            self._in_gaps = True
        elif self._in_gaps and tag == "thead":
            self._in_head = True
        elif self._in_gaps and tag == "tr" and "data-row" in a:
            self._row = a["data-row"]
            self.table[self._row] = []
        elif self._in_gaps and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            (self.heads if self._in_head else self.table[self._row]).append(text)  # type: ignore[index]
            self._cell = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._in_gaps = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def column(self, row: str, head: str) -> str:
        return self.table[row][self.heads.index(head)]


def plan_query(budget: int) -> str:
    return f"/planner/plan?region=35&budget={budget}"


# -- who may see what ----------------------------------------------------------------------------

def test_only_admins_and_planners_open_the_pages(web):
    pages = ("/planner", "/planner?region=35", plan_query(2_000_000), "/planner/plan.xlsx?region=35",
             "/planner/report.html?region=35")
    for name in ("officer", "officer_all", "officer_a1"):  # officers lack demand_gaps, as in the API
        client = web.client(name)
        for path in pages:
            assert client.get(path).status_code == 403, (name, path)
        r = client.post("/planner/plan", data={"csrf": client.csrf, "region": "35"})
        assert r.status_code == 403
        assert 'href="/planner"' not in client.get("/job-orders").text  # no link to a page they cannot open
    for name in ("planner", "admin"):
        assert Patient(web.client(name), web.api.app).get("/planner").status_code == 200
    anonymous = web.anonymous()
    for path in pages:
        r = anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=/planner")


def test_a_planner_sees_aggregates_only(web, planner, english):
    texts = [planner.get(p).text for p in ("/planner", "/planner?region=35", plan_query(2_000_000))]
    texts += [english.get(p).text for p in ("/planner?region=53&lang=en", plan_query(2_000_000) + "&lang=en")]
    texts.append(planner.get("/planner/report.html?region=35&budget=2000000").text)
    book = load_workbook(io.BytesIO(planner.get("/planner/plan.xlsx?region=35&budget=2000000").content))
    assert book.sheetnames == ["summary", "gaps", "plan"]  # the CLI's trainees sheet (worker ids) left out
    texts.append(" ".join(str(c) for ws in book for row in ws.iter_rows(values_only=True) for c in row))
    for text in texts:
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)  # the report's charts
        assert not WORKER_ID.search(text)
        assert not any(n in text for n in NAMES.values()) and "Rina Wati" not in text
        assert not any(n in text for n in NIKS.values()) and "3508014404960004" not in text
    assert "VJ x1" in texts[2]  # the plan names job orders, not the workers who fill them


# -- the plan form ---------------------------------------------------------------------------------

def test_the_plan_form_needs_its_csrf_token(planner):
    page = planner.get("/planner?region=35")
    assert 'action="/planner/plan"' in page.text and csrf_of(page.text) == planner.csrf
    form = {"region": "35", "from": "", "to": "", "budget": "Rp 2.000.000"}
    assert planner.post("/planner/plan", data=form).status_code == 403
    assert planner.post("/planner/plan", data=form | {"csrf": "x" * len(planner.csrf)}).status_code == 403
    r = planner.post("/planner/plan", data=form | {"csrf": planner.csrf})
    assert r.status_code == 303 and r.headers["location"] == plan_query(2_000_000)


def test_bad_fields_are_named(planner):
    for query, field in (("region=3x", "(region)"), ("from=2026-13-01", "(from)"),
                         ("from=2026-12-01&to=2026-11-30", "(to)")):
        r = planner.get(f"/planner?{query}")
        assert r.status_code == 422 and field in r.text, query
    r = planner.post("/planner/plan", data={"csrf": planner.csrf, "region": "35", "budget": "banyak"})
    assert r.status_code == 422 and "(budget)" in r.text


@pytest.mark.parametrize(("typed", "value"), [("", None), ("25000000", 25e6), ("25.000.000", 25e6),
                                              ("Rp 25.000.000", 25e6), ("IDR 25,000,000", 25e6), ("0", 0.0)])
def test_budgets_as_people_type_them(typed, value):
    assert parse_choice({"budget": typed}, "id", budget=True).budget == value


@pytest.mark.parametrize("typed", ["-5", "1e6", "dua juta", "1" * 17])
def test_budgets_that_are_refused(typed):
    with pytest.raises(PageError):
        parse_choice({"budget": typed}, "id", budget=True)


# -- what the pages show ---------------------------------------------------------------------------

def test_summary_and_gap_table_of_region_35(planner):
    text = planner.get("/planner?region=35").text
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", text))
    assert facts["Job order terbuka"] == "4" and facts["Posisi"] == "4"
    assert facts["Pekerja tersedia di wilayah"] == "3" and facts["Pekerja satu pelatihan lagi"] == "1"
    assert facts["Job order agensi tanpa izin aktif, tidak dihitung (posisi)"] == "1 (1)"
    page = Page(text)
    language = page.table["language|language:ja:JLPT N4"]
    assert page.column("language|language:ja:JLPT N4", "posisi") == "1" and "bisa dilatih" in language


def test_the_chart_rows_are_the_gap_tables_rows(web, planner):
    page = Page(planner.get("/planner?region=35").text)
    drawn = {(c["dimension"], c["key"]): c for c in page.charts}
    summary, rows = web.api.engine.gap_report(Scope(region="35"), lang="id")
    expected = {(r.dimension, r.key): r for r in rows if r.dimension != "occupation"}
    assert set(drawn) == set(expected)  # every requirement and destination of the table, nothing else
    for (dim, key), c in drawn.items():
        r, row = expected[(dim, key)], f"{dim}|{key}"
        assert int(c["positions"]) == r.positions == int(page.column(row, "posisi"))
        assert int(c["filled"]) == r.filled == int(page.column(row, "terisi kini"))
        supply = page.column(row, "pekerja memiliki" if r.meet is not None else "pekerja siap")
        assert int(c["supply"]) == int(supply)
    by_label = {(c["dimension"], c["positions"], c["filled"], c["supply"]) for c in page.charts}
    assert by_label == {("skill", "3", "2", "2"), ("skill", "1", "0", "2"), ("language", "1", "0", "2"),
                        ("destination", "2", "2", "2"), ("destination", "1", "0", "2"),
                        ("destination", "1", "0", "1")}  # known by construction (see the module docstring)


def test_the_gap_table_is_the_apis(web, planner):
    body = planner.get("/v1/planning/gaps", params={"region": "35", "lang": "id", "rows": 500},
                       headers=web.api.headers("planner")).json()
    page = Page(planner.get("/planner?region=35").text)
    assert list(page.table) == [f"{r['dimension']}|{r['key']}" for r in body["rows"]]
    for r in body["rows"]:
        row = f"{r['dimension']}|{r['key']}"
        assert page.column(row, "kosong") == str(r["unfilled"])
        assert page.column(row, "1 pelatihan lagi") == str(r["near"])


def test_a_later_period_has_no_open_job_orders(planner):
    text = planner.get("/planner?region=35&from=2027-04-01").text  # every deadline is 2027-03-31
    assert "Tidak ada job order terbuka" in text and "per 2027-04-01" in text


def test_the_plan_within_a_budget(planner):
    short = planner.get(plan_query(1_999_999)).text
    assert "2 tanpa pelatihan → 2 dengan rencana (+0)" in short and "Tidak ada pelatihan yang menambah" in short
    enough = planner.get(plan_query(2_000_000))
    assert "2 tanpa pelatihan → 3 dengan rencana (+1)" in enough.text and "Rp 2.000.000" in enough.text
    cohort = re.search(r'<table class="list stack planner-cohorts">.*?</table>', enough.text, re.S).group(0)
    assert "T1" in cohort and "Bahasa Jepang N4" in cohort and "VJ x1" in cohort
    page = Page(enough.text)
    assert page.column("language|language:ja:JLPT N4", "dgn rencana") == "1"
    assert {c["with-plan"] for c in page.charts if c["key"] == "JP"} == {"1"}


def test_the_downloads_hold_the_plan_shown(planner):
    query = "region=35&budget=2000000"
    xlsx = planner.get(f"/planner/plan.xlsx?{query}")
    assert xlsx.headers["content-disposition"] == 'attachment; filename="plan-35-2026-11-01.xlsx"'
    book = load_workbook(io.BytesIO(xlsx.content))
    summary = {k: v for k, v in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["region"] == "35" and summary["budget_idr"] == 2_000_000
    assert (summary["filled_without_training"], summary["filled_with_plan"], summary["trainees"]) == (2, 3, 1)
    plan = list(book["plan"].iter_rows(values_only=True))
    assert plan[1][0] == "T1" and plan[1][plan[0].index("fills_job_orders")] == "VJ x1"
    html = planner.get(f"/planner/report.html?{query}")
    assert html.headers["content-disposition"] == 'attachment; filename="plan-35-2026-11-01.html"'
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "Rencana pelatihan: 35" in html.text and "VJ x1" in html.text and "data:image/png;base64," in html.text


def test_the_report_in_english(english):
    assert "Training plan: 35" in english.get("/planner/report.html?region=35&budget=2000000&lang=en").text


def test_a_skill_label_with_a_script_is_escaped_inside_the_svg(planner):
    text = planner.get("/planner?region=53").text
    svg = re.search(r"<svg.*?</svg>", text, re.S).group(0)
    assert XSS not in text and "<script" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


def test_the_chart_escapes_every_text():
    row = GapRow("skill", 'k"><script>', '"><script>x</script>', 1, 2, 1, 1, 1, 0, 3, 0, 0, 0, 1, "train")
    svg = str(demand_supply_svg([row], title='<img src=x onerror=alert(1)>', lang="en"))
    assert "<script" not in svg and "<img" not in svg and '"><script' not in svg
    assert svg.count("<svg") == 1 and svg.count("<g ") == 1


def test_english_toggle_and_page_sizes(planner, english):
    en = english.get("/planner?region=35&lang=en")
    assert '<html lang="en">' in en.text and "Training planning" in en.text and "demand: 3 positions" in en.text
    assert 'href="/planner?region=35&amp;lang=id"' in en.text
    for path in ("/planner", "/planner?region=35&rows=500", plan_query(2_000_000) + "&rows=500"):
        r = planner.get(path)
        assert r.status_code == 200 and len(r.content) < 300_000
        assert r.headers["cache-control"] == "no-store"
        for field in re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', r.text):
            assert f'<label for="{field}">' in r.text, (path, field)


# -- the work in the background ------------------------------------------------------------------

def held(monkeypatch, name: str, *, fail: str | None = None):
    """Replace ``planner.<name>`` (gaps_for or plan_for) by one whose computation waits for ``release``
    (or raises ``fail``), and count the computations that ran."""
    real, release, calls = getattr(planner_module, name), threading.Event(), []

    def make(engine, state, choice, lang):
        compute = real(engine, state, choice, lang)

        def run():
            calls.append(choice)
            assert release.wait(60)
            if fail:
                raise ValueError(fail)
            return compute()

        return run

    monkeypatch.setattr(planner_module, name, make)
    return release, calls


def test_the_first_request_says_what_is_being_worked_out(web, monkeypatch):
    release, calls = held(monkeypatch, "gaps_for")
    one, two = web.client("planner"), web.client("planner")
    path = "/planner?region=35&from=2026-11-15"
    first, other = one.get(path), two.get(path)
    for r in (first, other):
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        assert '<meta http-equiv="refresh" content="2">' in r.text and 'role="status"' in r.text
        assert "Sedang dihitung" in r.text and "35, per 2026-11-15" in r.text
        assert re.search(r'role="status"[^>]*>[^<]*sejak 09:00:00', r.text)  # since when (the tests' clock)
        assert "planner-gaps" not in r.text
    release.set()
    assert jobs_of(web).settle(60)
    assert len(calls) == 1  # two planners, one computation
    done = one.get(path)
    assert done.status_code == 200 and REFRESH not in done.text and "planner-gaps" in done.text
    assert two.get(path).text.count('<tr class="planner-status') == done.text.count('<tr class="planner-status')
    assert len(calls) == 1  # kept: asked again, not worked out again


def test_the_plan_form_leads_to_the_plans_progress(web, monkeypatch):
    release, calls = held(monkeypatch, "plan_for")
    client, other = web.client("planner"), web.client("planner")  # (each new client reloads the app: a new matcher)
    client.csrf = csrf_of(Patient(client, web.api.app).get("/planner").text)
    form = {"region": "35", "from": "2026-11-02", "budget": "2.000.000"}
    assert client.post("/planner/plan", data=form).status_code == 403  # still needs its CSRF token
    assert calls == []
    r = client.post("/planner/plan", data=form | {"csrf": client.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/planner/plan?region=35&from=2026-11-02&budget=2000000"
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'role="status"' in page.text and REFRESH in page.text
    assert "Rencana pelatihan: 35, per 2026-11-02, anggaran Rp 2.000.000" in page.text
    english = other.get(r.headers["location"] + "&lang=en")  # another language: its own job
    assert "Training plan: 35, as of 2026-11-02, budget IDR 2,000,000" in english.text
    release.set()
    assert jobs_of(web).settle(60)
    assert len(calls) == 2
    shown = client.get(r.headers["location"])
    assert "2 tanpa pelatihan → 3 dengan rencana (+1)" in shown.text and REFRESH not in shown.text
    book = load_workbook(io.BytesIO(client.get("/planner/plan.xlsx?region=35&from=2026-11-02&budget=2000000").content))
    assert dict(book["summary"].iter_rows(min_row=2, values_only=True))["filled_with_plan"] == 3
    assert len(calls) == 2  # the download holds the plan the page shows


def test_a_failing_computation_shows_the_reason(web, monkeypatch):
    release, calls = held(monkeypatch, "gaps_for", fail="the solver is not installed")
    client = web.client("planner")
    path = "/planner?region=53&to=2027-01-31"
    assert client.get(path).status_code == 200
    release.set()
    assert jobs_of(web).settle(60)
    failed = client.get(path)
    assert failed.status_code == 500 and REFRESH not in failed.text
    assert "Perhitungan gagal" in failed.text and 'role="alert"' in failed.text
    assert "ValueError: the solver is not installed" in failed.text
    assert 'href="/planner?region=53&amp;to=2027-01-31&amp;retry=1"' in failed.text
    assert client.get(path).status_code == 500 and len(calls) == 1  # kept until asked to try again
    monkeypatch.undo()
    again = client.get(path + "&retry=1")  # being worked out again (or already shown: the data are tiny)
    assert again.status_code == 200 and ('role="status"' in again.text or "planner-gaps" in again.text)
    assert 'http-equiv="refresh" content="2">' not in again.text or f'href="{path.replace("&", "&amp;")}">' in again.text
    assert jobs_of(web).settle(60)
    shown = client.get(path)
    assert shown.status_code == 200 and "planner-gaps" in shown.text and len(calls) == 1


def test_each_role_lands_on_its_own_page(web):
    from web_fixtures import sign_in

    for name, home in (("planner", "/planner"), ("officer", "/job-orders"), ("admin", "/job-orders")):
        r = sign_in(web.anonymous(), web.api.tokens[name])
        assert r.status_code == 303 and r.headers["location"] == home, name


def test_the_common_overviews_are_warmed_after_load(tmp_path, fake_encoder):
    api = make_api(tmp_path, fake_encoder, data=planner_market(), web_planner_warm=True)
    w = Web(api, Clock())
    api.app.state.web.clock = w.clock
    try:
        client = w.client("planner")
        assert api.app.state.planner_warmer.warmed.wait(60)
        assert api.app.state.planner_jobs.settle(60)
        for path in ("/planner", "/planner?region=35", "/planner?region=53"):
            r = client.get(path)
            assert r.status_code == 200 and REFRESH not in r.text and "planner-facts" in r.text, path
        assert REFRESH in client.get("/planner?region=35.08").text  # a regency is not warmed
    finally:
        w.close()
