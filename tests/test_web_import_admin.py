"""The web app's import page, Excel templates, and admin pages (API keys, ranker versions), and the
admin API routes they share.

Over the API tests' tiny market (tests/web_fixtures.py), with an upload limit of 200 kB so that an
oversize body is small to make. Ranker versions are tiny MonotoneRankers in a real MLflow SQLite
store (tests/admin_fixtures.py).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from admin_fixtures import register_rankers
from api_fixtures import NIKS
from openpyxl import load_workbook
from web_fixtures import csrf_of, make_web, sign_in

from sepadan.contract import KINDS
from sepadan.ingest.importer import import_file
from sepadan.ingest.xlsx_template import EXAMPLES, columns, template_xlsx
from sepadan.store.db import Store
from sepadan.store.keys import create_key, find_key
from sepadan.store.pii import Vault
from sepadan.web.imports import redact

UPLOAD_MAX = 200_000
NEW_NIK = "3508014404990077"
NEW_NAME = "Wulan Sekar"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def web(tmp_path_factory, fake_encoder):
    w = make_web(tmp_path_factory.mktemp("web-admin"), fake_encoder, api_upload_max_bytes=UPLOAD_MAX)
    yield w
    w.close()


@pytest.fixture(scope="module")
def admin(web):
    return web.client("admin")


def workers_csv(*rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "name", "nik", "birth_date", "gender", "region", "skills"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


GOOD_ROW = {"id": "W-NEW1", "name": NEW_NAME, "nik": NEW_NIK, "birth_date": "1998-02-02", "gender": "F",
            "region": "35.08", "skills": "menjahit; memasak"}


def upload(client, kind: str, name: str, content: bytes, *, csrf: str | None = None):
    data = {} if csrf == "" else {"csrf": csrf or client.csrf}
    return client.post(f"/import/{kind}/bulk", data=data, files={"file": (name, content)})


def table_rows(html: str) -> list[list[str]]:
    body = html.split('class="list stack import-error-table"', 1)[1].split("</table>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)]


# -- the import page ------------------------------------------------------------------------------

def test_the_import_page_offers_every_kind_with_a_form_and_a_template(web, admin):
    r = admin.get("/import")
    assert r.status_code == 200
    for kind in KINDS:
        assert f'action="/import/{kind}/bulk"' in r.text and f'href="/import/{kind}/template.xlsx"' in r.text
        assert f'<label for="import-file-{kind}">' in r.text
    assert r.text.count('enctype="multipart/form-data"') == len(KINDS)
    assert r.text.count(f'name="csrf" value="{admin.csrf}"') >= len(KINDS)
    assert 'href="/import" aria-current="page"' in r.text


def test_a_file_with_one_bad_row_shows_row_and_field_and_writes_nothing(web, admin):
    before = web.api.engine.store.count("workers")
    bad = {**GOOD_ROW, "id": "W-NEW2", "gender": NIKS["W1"]}  # a NIK in the wrong column
    worse = {**GOOD_ROW, "id": "W-NEW3", "nik": "12345", "gender": NEW_NAME, "region": "99.99.99.99.99"}
    r = upload(admin, "workers", "pekerja.csv", workers_csv(GOOD_ROW, bad, worse))
    assert r.status_code == 422
    rows = table_rows(r.text)
    assert ["pekerja.csv", "3", "gender"] in [row[:3] for row in rows]
    assert {("4", "nik"), ("4", "gender"), ("4", "region")} <= {(row[1], row[2]) for row in rows}
    assert all(row[0] == "pekerja.csv" for row in rows) and len(rows) == 4
    assert "Tidak ada yang disimpan: 4 kesalahan di pekerja.csv" in r.text
    assert web.api.engine.store.count("workers") == before
    assert web.api.engine.store.get("workers", "W-NEW1") is None  # the good row neither
    for value in (NIKS["W1"], NEW_NAME, NEW_NIK, "12345", "99.99.99.99.99", "1998-02-02"):
        assert value not in r.text, value  # no submitted value comes back
    gender = next(row for row in rows if row[1:3] == ["3", "gender"])
    assert "is not a gender code" in gender[3]


def test_a_good_file_is_imported_and_the_page_says_so(web, admin):
    r = upload(admin, "trainings", "pelatihan.jsonl",
               json.dumps({"id": "T-WEB", "title": "Menjahit dasar", "region": "35.08", "hours": 80}).encode() + b"\n")
    assert r.status_code == 303
    assert r.headers["location"] == "/import?kind=trainings&rows=1&inserted=1&updated=0&unchanged=0"
    page = admin.get(r.headers["location"])
    assert "Pelatihan: 1 baris diimpor (1 baru, 0 diubah, 0 sama)." in page.text
    assert web.api.engine.store.get("trainings", "T-WEB")["title"] == "Menjahit dasar"


def test_unreadable_oversize_and_zip_bomb_uploads_are_refused_as_the_api_refuses_them(web, admin, tmp_path):
    before = web.api.engine.store.count("workers")
    assert upload(admin, "workers", "pekerja.txt", b"id\nW-X\n").status_code == 415
    r = upload(admin, "workers", "pekerja.xlsx", b"not a workbook")
    assert r.status_code == 422 and "Berkas ditolak" in r.text
    too_big = upload(admin, "workers", "pekerja.csv", b"id\n" + b"W-BIG\n" * (UPLOAD_MAX // 6 + 10))
    api_too_big = admin.post("/v1/workers/bulk", headers=web.api.headers("admin"),
                             files={"file": ("pekerja.csv", b"id\n" + b"W-BIG\n" * (UPLOAD_MAX // 6 + 10))})
    assert too_big.status_code == api_too_big.status_code == 413
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            for _ in range(16):
                sheet.write(b"<row>" + b" " * (2**20 - 11) + b"</row>")
    assert bomb.stat().st_size < UPLOAD_MAX
    r = upload(admin, "workers", "bomb.xlsx", bomb.read_bytes())
    assert r.status_code == 413 and "zip bomb" in r.text
    assert upload(admin, "workers", "", b"").status_code == 422  # no file chosen
    assert web.api.engine.store.count("workers") == before


def test_every_import_form_refuses_a_post_without_the_csrf_token(web, admin):
    for kind in KINDS:
        for token in ("", "x" * 43):
            r = upload(admin, kind, f"{kind}.jsonl", b'{"id": "X-1"}\n', csrf=token)
            assert r.status_code == 403, (kind, token)
    assert web.api.engine.store.get("trainings", "X-1") is None


@pytest.mark.parametrize("name", ["officer", "planner", "officer_all"])
def test_officers_and_planners_may_not_import(web, name):
    client = web.client(name)
    assert client.get("/import").status_code == 403
    for kind in KINDS:
        assert upload(client, kind, f"{kind}.jsonl", b'{"id": "X-2"}\n').status_code == 403
        assert client.get(f"/import/{kind}/template.xlsx").status_code == 403
    assert 'href="/import"' not in client.get("/outcomes" if name != "planner" else "/planner").text


# -- Excel templates ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_template_is_the_contracts_columns_with_text_cells_for_ids_and_codes(admin, kind):
    r = admin.get(f"/import/{kind}/template.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(r.content))
    sheet = book[kind]
    assert [c.value for c in sheet[1]] == columns(kind)
    for i, col in enumerate(columns(kind), start=1):
        if col in ("id", "nik", "region", "licence", "worker_id", "vacancy_id", "agency_licence", "occupation"):
            for row in (2, 3, 1001):
                assert sheet.cell(row, i).number_format == "@", (col, row)
            if EXAMPLES[kind].get(col) is not None:
                assert sheet.cell(2, i).data_type == "s", col


CONTRACT_EXAMPLES = {  # /work/shared/design/data-contract.md, as JSON
    "workers": {"id": "W-000123", "name": "Siti Rahma", "nik": "3508014404990002", "birth_date": "1999-04-04",
                "gender": "F", "region": "35.08", "education": "SMK",
                "skills": ["menjahit", "tata boga", "merawat lansia"],
                "languages": [{"language": "ja", "test": "JLPT", "level": "N4"},
                              {"language": "en", "test": "CEFR", "level": "A2"}],
                "trainings": [{"program_id": "T-07", "title": "Caregiver dasar", "provider": "LPK Mitra Lumajang",
                               "hours": 200, "completed": "2025-06-30", "skills": ["perawatan lansia"]}],
                "experience": [{"occupation": "penjahit", "years": 2, "country": "ID"}],
                "certificates": ["SSW kaigo skills test"],
                "documents": {"passport": True, "medical": True, "police_clearance": False, "bpjs": True,
                              "family_consent": True},
                "preferences": {"countries": ["JP", "TW"], "domestic": True, "sectors": ["care"]},
                "available": True},
    "vacancies": {"id": "V-0042", "title": "Caregiver (kaigo), Specified Skilled Worker",
                  "employer": "Sakura Care Osaka", "agency_licence": "P3MI-2023-0117", "country": "JP",
                  "region": None, "sector": "care", "occupation": "5322",
                  "description": "Daily care of elderly residents in a nursing home ...",
                  "skills_required": ["elderly care", "personal hygiene assistance"],
                  "skills_preferred": ["dementia care", "cooking"],
                  "languages": [{"language": "ja", "test": "JLPT", "min_level": "N4"}], "education_min": "SMA",
                  "age_min": 18, "age_max": 35, "gender": None, "experience_years_min": 0,
                  "certificates_required": ["SSW kaigo skills test"], "positions": 12,
                  "salary": {"amount": 180000, "currency": "JPY", "period": "month"}, "scheme": "P2P",
                  "deadline": "2026-12-31", "open": True},
    "trainings": {"id": "T-07", "title": "Bahasa Jepang N4", "provider": "LPK Mitra Lumajang", "region": "35.08",
                  "skills": [], "languages": [{"language": "ja", "test": "JLPT", "level": "N4"}], "hours": 480,
                  "duration_weeks": 12, "cost_idr": 0, "seats": 30, "next_start": "2027-01-10"},
    "agencies": {"licence": "P3MI-2023-0117", "name": "PT Contoh Penempatan", "status": "active",
                 "valid_until": "2028-03-01"},
    "outcomes": {"worker_id": "W-000123", "vacancy_id": "V-0042", "stage": "hired", "date": "2026-02-14"},
}


def test_each_template_imports_as_the_contracts_example_and_the_nik_stays_text(tmp_path):
    """The templates, as downloaded, through the real importer into one store, and the contract's
    JSON examples into another: the same stored records, and the NIK is the 16 digits."""
    stores = {}
    for name in ("xlsx", "jsonl"):
        store = Store.open(f"sqlite:///{tmp_path / name}.db")
        vault = Vault(b"test-secret-not-for-production")
        for kind in ("agencies", "trainings", "workers", "vacancies", "outcomes"):
            path = tmp_path / name / f"{kind}.{name}"
            path.parent.mkdir(exist_ok=True)
            if name == "xlsx":
                path.write_bytes(template_xlsx(kind))
            else:
                path.write_text(json.dumps(CONTRACT_EXAMPLES[kind]) + "\n", encoding="utf-8")
            report = import_file(store, vault, kind, path, today=date(2026, 11, 1))
            assert (report.rows, report.inserted, report.rejected) == (1, 1, 0), (name, kind)
        stores[name] = (store, vault)
    for kind in KINDS:
        assert list(stores["xlsx"][0].rows(kind)) == list(stores["jsonl"][0].rows(kind)) != [], kind
    from sepadan.store.personal import PersonalData

    personal = PersonalData(*stores["xlsx"]).of("W-000123")
    assert personal["nik"] == "3508014404990002" and isinstance(personal["nik"], str)


def test_a_template_uploaded_on_the_page_imports_cleanly(web, admin):
    for kind in ("agencies", "workers"):
        r = upload(admin, kind, f"{kind}.xlsx", admin.get(f"/import/{kind}/template.xlsx").content)
        assert r.status_code == 303, r.text
        assert "rows=1&inserted=1" in r.headers["location"]
    assert web.api.engine.personal.of("W-000123")["nik"] == "3508014404990002"


def test_redact_masks_the_values_a_row_sent_and_keeps_the_rules_words():
    assert redact("'3508014101960001' is not a gender code (F or M)", ["3508014101960001"]) == \
        "'…' is not a gender code (F or M)"
    assert redact("Input should be 'hired' or 'rejected' (got 'Siti')", ["Siti"]) == \
        "Input should be 'hired' or 'rejected'"
    assert redact("'xx' is not a language entry like 'ja:JLPT:N4'", None) == "'…' is not a language entry like 'ja:JLPT:N4'"
    assert redact("a note about 3508014101960001", []) == "a note about …"
    assert redact("'SITI' is not a gender code", ["siti"]) == "'…' is not a gender code"

