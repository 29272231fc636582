"""A real browser (Debian's chromium, driven by Playwright) through the admin's import journey: sign
in, open the import page from the navigation, upload a workers file with one bad row, read the row and
the field in the error table (and nothing was written), download the Excel template; then create an
API key and see its token once. Pages checked at 1280 and 375 px (no page wider than the phone);
screenshots go to a temporary folder unless ``SEPADAN_UI_SHOTS`` names one."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from browser_fixtures import NEEDS_CHROMIUM, browser, serving, shot, shots  # noqa: F401 (fixtures)
from openpyxl import load_workbook
from web_fixtures import make_web

BAD_FILE = ("id,name,nik,birth_date,gender,region,skills\n"
            "W-B1,Ani Suryani,3508014404990081,1998-02-02,F,35.08,menjahit\n"
            "W-B2,Budi Santoso,3508014404990082,1997-03-03,F,35.08,memasak;menjahit\n"
            "W-B3,Citra Lestari,3508014404990083,1996-04-04,X,35.08,memasak\n")

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake_encoder):
    web = make_web(tmp_path_factory.mktemp("browser-import"), fake_encoder)
    with serving(web.api.app) as base:
        yield web, base


def narrow_enough(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, f"{page.url} is {width} px wide at 375"


def test_admin_uploads_a_file_with_a_bad_row_sees_it_and_nothing_is_written(server, browser, shots, tmp_path):
    web, base = server
    store = web.api.engine.store
    before = store.count("workers")
    bad = tmp_path / "pekerja.csv"
    bad.write_text(BAD_FILE, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(base + "/signin")
    page.get_by_label("Kunci API").fill(web.api.tokens["admin"])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/job-orders")
    page.get_by_role("link", name="Impor", exact=True).click()
    page.wait_for_url("**/import")

    section = page.locator("section.import-kind", has=page.get_by_role("heading", name="Pekerja"))
    section.get_by_label("Berkas (Pekerja)").set_input_files(str(bad))
    section.get_by_role("button", name="Unggah dan impor").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").first.inner_text().startswith("Pekerja: Tidak ada yang disimpan: 1 kesalahan")
    rows = page.locator("table.import-error-table tbody tr")
    assert rows.count() == 1
    cells = [c.strip() for c in rows.first.locator("td").all_inner_texts()]
    assert cells[:3] == ["pekerja.csv", "4", "gender"] and "bukan kode jenis kelamin" in cells[3]
    assert store.count("workers") == before
    assert all(store.get("workers", w) is None for w in ("W-B1", "W-B2", "W-B3"))
    assert "3508014404990083" not in page.content() and "Citra Lestari" not in page.content()
    shot(page, shots, "import-errors-1280")

    with page.expect_download() as info:
        section.get_by_role("link", name="Unduh templat Excel").click()
    download = info.value
    assert download.suggested_filename == "sepadan-workers-template.xlsx"
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))["workers"]
    assert sheet["A1"].value == "id" and sheet["C1"].value == "nik"
    assert sheet["C2"].value == "3508014404990002" and sheet["C2"].number_format == "@"

    page.set_viewport_size({"width": 375, "height": 800})
    narrow_enough(page)
    shot(page, shots, "import-errors-375")
    context.close()


def test_admin_creates_a_key_and_sees_the_token_once(server, browser, shots):
    web, base = server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/signin")
    page.get_by_label("Kunci API").fill(web.api.tokens["admin"])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/job-orders")
    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_url("**/admin/keys")
    page.get_by_label("Peran").select_option("planner")
    page.get_by_label("Label (siapa pemegang kunci)").fill("Perencana Bappeda")
    page.get_by_role("button", name="Buat kunci").click()
    page.wait_for_load_state()
    token = page.get_by_label("Kunci API baru").input_value()
    assert token.startswith("sk_") and token not in page.url
    from sepadan.store.keys import find_key

    assert find_key(web.api.engine.store, token).label == "Perencana Bappeda"
    shot(page, shots, "admin-keys-created-1280")
    page.reload()  # the page after the redirect, again: the token is not shown twice
    assert token not in page.content() and page.get_by_text("sudah ditampilkan sekali").is_visible()
    page.goto(base + "/admin/keys")
    assert token not in page.content()
    page.goto(base + "/admin/models")
    assert page.get_by_text("Belum ada model ranker terdaftar").is_visible()
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/admin/keys", "/admin/models", "/import"):
        page.goto(base + path)
        narrow_enough(page)
    shot(page, shots, "admin-keys-375")
    context.close()


def test_an_oversize_upload_brings_the_browser_back_to_the_import_page_with_the_limit(server, browser, tmp_path):
    web, base = server
    limit = web.api.engine.settings.api_upload_max_bytes
    big = tmp_path / "pekerja-besar.csv"
    with big.open("w", encoding="utf-8") as handle:
        handle.write("id,skills\n")
        for i in range(limit // 20 + 1000):
            handle.write(f"W-{i:09d},menjahit\n")
    assert big.stat().st_size > limit
    before = web.api.engine.store.count("workers")
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(base + "/signin")
    page.get_by_label("Kunci API").fill(web.api.tokens["admin"])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/job-orders")
    page.goto(base + "/import")
    section = page.locator("section.import-kind", has=page.get_by_role("heading", name="Pekerja"))
    section.get_by_label("Berkas (Pekerja)").set_input_files(str(big))
    section.get_by_role("button", name="Unggah dan impor").click()
    page.wait_for_url("**/import?too_large=*")
    alert = page.locator(".import-too-large").inner_text()
    assert f"lebih besar dari batas {limit / 1e6:.3g} MB" in alert and "tidak ada yang disimpan" in alert
    narrow_enough(page)
    assert web.api.engine.store.count("workers") == before
    context.close()
