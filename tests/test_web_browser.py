"""A real browser (Debian's chromium, driven by Playwright) through the officer's journey:
sign in, open a job order, read the shortlist's reasons in Indonesian, switch to English, export
Excel, record a hire, see it in outcomes. Takes screenshots at 1280 and 375 px of each page, into
a temporary folder; ``SEPADAN_UI_SHOTS=experiments/results/ui`` keeps them there (the committed ones)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from api_fixtures import NAMES
from browser_fixtures import NEEDS_CHROMIUM, browser, serving, shot, shots  # noqa: F401 (fixtures)
from openpyxl import load_workbook
from web_fixtures import make_web

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_encoder):
    web = make_web(tmp_path_factory.mktemp("browser"), fake_encoder)
    with serving(web.api.app) as base:
        yield web, base


def test_officer_journey(server, browser, shots):
    web, base = server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(base + "/")
    assert "/signin" in page.url
    shot(page, shots, "signin-1280")
    page.get_by_label("Kunci API").fill(web.api.tokens["officer"])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/job-orders")
    shot(page, shots, "job-orders-1280")
    page.get_by_role("link", name="V1", exact=True).click()
    page.wait_for_url("**/job-orders/V1")
    assert page.locator("h3", has_text="Alasan").first.is_visible()
    assert page.get_by_text("bisa merawat lansia").first.is_visible()
    assert page.get_by_text(NAMES["W1"]).first.is_visible()
    shot(page, shots, "job-order-1280")

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("has tend to elderly people").first.is_visible()

    with page.expect_download() as info:
        page.get_by_role("link", name="Excel").click()
    download = info.value
    assert download.suggested_filename == "shortlist-V1.xlsx"
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    assert {"W1", "W2"} <= {sheet.cell(row=i, column=2).value for i in range(2, sheet.max_row + 1)}

    card = page.locator("li.card", has=page.get_by_role("link", name=NAMES["W1"]))
    card.get_by_label("Record outcome").select_option("hired")
    card.get_by_role("button", name="Save").click()
    page.wait_for_url("**/job-orders/V1?saved=*")
    assert page.get_by_role("status").inner_text().startswith("Outcome recorded")
    row = page.locator("#outcomes ~ div table tr", has_text="hired")
    assert row.count() == 1 and "W1" in row.inner_text()
    assert web.api.engine.store.get("outcomes", "W1|V1|hired") is not None

    page.get_by_role("link", name="Outcomes", exact=True).click()
    page.wait_for_url("**/outcomes")
    assert page.locator("tr", has_text="hired").filter(has_text="W1").count() == 1
    shot(page, shots, "outcomes-1280")
    page.goto(base + "/job-orders/V1/compare?w=W1&w=W2")
    shot(page, shots, "compare-1280")
    page.goto(base + "/workers/W1")
    assert "3508014101960001" not in page.content()
    shot(page, shots, "worker-1280")

    page.set_viewport_size({"width": 375, "height": 800})
    for path, name in (("/job-orders", "job-orders-375"), ("/job-orders/V1", "job-order-375"),
                       ("/workers/W1", "worker-375"), ("/job-orders/V1/compare?w=W1&w=W2", "compare-375")):
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375 + 1, f"{path} is {width} px wide at 375"
        shot(page, shots, name)
    context.close()


def test_keyboard_reaches_the_sign_in_field_and_button(server, browser):
    web, base = server
    page = browser.new_page()
    page.goto(base + "/signin")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    names = []
    for _ in range(6):
        names.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
        page.keyboard.press("Tab")
    assert "key" in names and "Masuk" in names
    page.close()
