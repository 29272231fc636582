"""A real browser (Debian's chromium, driven by Playwright) through the officer's journey:
sign in, open a job order, read the shortlist's reasons in Indonesian, switch to English, export
Excel, record a hire, see it in outcomes. Takes screenshots at 1280 and 375 px of each page, into
a temporary folder; ``SEPADAN_UI_SHOTS=experiments/results/ui`` keeps them there (the committed ones)."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from pathlib import Path

import pytest
from api_fixtures import NAMES
from openpyxl import load_workbook
from web_fixtures import make_web

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                               "(apt-get install chromium; .ci/run does)")


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_encoder):
    import uvicorn

    web = make_web(tmp_path_factory.mktemp("browser"), fake_encoder)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(web.api.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield web, f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SEPADAN_UI_SHOTS") or tmp_path_factory.mktemp("ui"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000


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
