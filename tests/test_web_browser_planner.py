"""A real browser (Debian's chromium, driven by Playwright) through the planner's journey: sign in,
pick a region, read demand against supply and the charts, build a plan within a budget, download
the Excel workbook and the HTML report and check that both open and hold the plan, switch to
English, and stay within 375 px on a phone. The answers are worked out in the background: the first
time, a page says so (a live region) and refreshes itself until the answer is there. Same setup as
tests/test_web_browser.py; screenshots go to a temporary folder unless ``SEPADAN_UI_SHOTS`` names one.

The market is the planner tests' (tests/test_web_planner.py): in region 35 the pool fills 2 of 4
positions, and course T1 (Rp 2.000.000 per trainee) makes W4 eligible for VJ: a third.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from api_fixtures import NAMES, make_api
from browser_fixtures import NEEDS_CHROMIUM, browser, serving, shot, shots  # noqa: F401 (fixtures)
from openpyxl import load_workbook
from test_web_planner import planner_market
from web_fixtures import Clock, Web

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_encoder):
    api = make_api(tmp_path_factory.mktemp("browser-planner"), fake_encoder, data=planner_market())
    web = Web(api, Clock())
    api.app.state.web.clock = web.clock
    with serving(api.app) as base:
        yield web, base


def worked_out(page, label: str) -> None:
    """Wait for the answer: the "being worked out" page refreshes itself until it is there."""
    page.get_by_label(label, exact=True).wait_for(timeout=60_000)


def test_planner_journey(server, browser, shots, tmp_path):
    web, base = server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(base + "/planner")
    assert "/signin" in page.url
    page.get_by_label("Kunci API").fill(web.api.tokens["planner"])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/planner")
    worked_out(page, "Wilayah")

    page.get_by_label("Wilayah", exact=True).select_option("35")
    page.get_by_role("button", name="Tampilkan").click()
    page.wait_for_url("**/planner?region=35*")
    worked_out(page, "Anggaran pelatihan (Rp)")
    assert page.get_by_role("heading", name=re.compile("Permintaan dan pasokan: 35")).is_visible()
    chart = page.get_by_role("img", name=re.compile("per negara tujuan"))
    assert chart.locator("g.planner-row").count() == 3  # Taiwan, domestic, Japan
    assert page.locator("table.planner-gaps tbody tr").count() == 7
    shot(page, shots, "planner-1280")

    page.get_by_label("Anggaran pelatihan (Rp)").fill("2.000.000")
    page.get_by_role("button", name="Susun rencana").click()
    page.wait_for_url("**/planner/plan?region=35&budget=2000000")
    status = page.get_by_role("status")  # the first time: what is being worked out, in a live region
    if status.count():
        assert "Rencana pelatihan: 35" in page.content() and "Sedang dihitung" in status.inner_text()
        shot(page, shots, "planner-wait-1280")
    page.get_by_text("2 tanpa pelatihan → 3 dengan rencana (+1)").wait_for(timeout=60_000)  # the page's refresh
    assert page.locator("table.planner-cohorts tbody tr", has_text="T1").count() == 1
    shot(page, shots, "planner-plan-1280")

    with page.expect_download() as info:
        page.get_by_role("link", name="Buku kerja Excel").click()
    workbook = info.value
    assert workbook.suggested_filename == "plan-35-2026-11-01.xlsx"
    book = load_workbook(io.BytesIO(Path(workbook.path()).read_bytes()))
    summary = dict(book["summary"].iter_rows(min_row=2, values_only=True))
    assert (summary["region"], summary["filled_with_plan"], summary["trainees"]) == ("35", 3, 1)
    assert [r[0] for r in book["plan"].iter_rows(min_row=2, values_only=True)] == ["T1"]

    with page.expect_download() as info:
        page.get_by_role("link", name="Laporan HTML (dengan grafik)").click()
    report = info.value
    assert report.suggested_filename == "plan-35-2026-11-01.html"
    saved = tmp_path / report.suggested_filename
    report.save_as(saved)
    opened = context.new_page()  # the report opens on its own, from the saved file
    opened.goto(saved.as_uri())
    assert opened.get_by_role("heading", name="Rencana pelatihan: 35").is_visible()
    assert opened.locator("img[src^='data:image/png;base64,']").count() >= 2
    assert opened.locator("td", has_text="VJ x1").count() == 1
    assert not any(n in opened.content() for n in NAMES.values())
    opened.close()

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_text("2 without training → 3 with the plan (+1)").wait_for(timeout=60_000)  # its own job

    page.set_viewport_size({"width": 375, "height": 800})
    for path, name in (("/planner?region=35&lang=id", "planner-375"),
                       ("/planner/plan?region=35&budget=2000000", "planner-plan-375")):
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375 + 1, f"{path} is {width} px wide at 375"
        shot(page, shots, name)
    context.close()
