"""The web app's import page, Excel templates, and admin pages (API keys, ranker versions), and the
admin API routes they share.

Over the API tests' tiny market (tests/web_fixtures.py), with an upload limit of 200 kB so that an
oversize body is small to make. Ranker versions are tiny MonotoneRankers in a real MLflow SQLite
store (tests/admin_fixtures.py).
"""

from __future__ import annotations

import csv
import html
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
    assert "bukan kode jenis kelamin (F atau M)" in gender[3]


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
    api_too_big = admin.post("/v1/workers/bulk", headers=web.api.headers("admin") | {"accept": "text/html"},
                             files={"file": ("pekerja.csv", b"id\n" + b"W-BIG\n" * (UPLOAD_MAX // 6 + 10))})
    assert api_too_big.status_code == 413 and api_too_big.headers["content-type"] == "application/problem+json"
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


def test_an_oversize_upload_from_a_browser_comes_back_to_the_import_page_naming_the_limit_in_mb(web, admin):
    before = web.api.engine.store.count("workers")
    big = b"id\n" + b"W-BIG\n" * (UPLOAD_MAX // 6 + 10)
    browser = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    r = admin.post("/import/workers/bulk", data={"csrf": admin.csrf}, files={"file": ("pekerja.csv", big)},
                   headers=browser)
    assert r.status_code == 303 and r.headers["location"] == f"/import?too_large={UPLOAD_MAX}"
    page = admin.get(r.headers["location"] + "&lang=id")
    assert page.status_code == 200 and "lebih besar dari batas 0.2 MB; tidak ada yang disimpan" in page.text
    assert 'class="alert import-refused import-too-large" role="alert"' in page.text
    assert "larger than the 0.2 MB limit" in admin.get(r.headers["location"] + "&lang=en").text
    assert admin.get("/import?lang=id").status_code == 200
    plain = admin.post("/import/workers/bulk", data={"csrf": admin.csrf}, files={"file": ("pekerja.csv", big)})
    assert plain.status_code == 413 and plain.headers["content-type"] == "application/problem+json"  # not a browser
    form = admin.post("/admin/keys", content=b"x" * 1_000_100, headers=browser | {
        "content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 303 and form.headers["location"] == "/admin?too_large=1000000"  # the JSON limit
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


# -- row errors in Indonesian ---------------------------------------------------------------------

BAD = Path(__file__).parent / "data" / "bad"
BAD_KINDS = {"unknown_scheme.jsonl": "vacancies"}  # the rest of the corpus is workers (tests/test_bad_input.py)


def jsonl(*rows: dict) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


# one file per kind whose rows between them set off every check the contract and the readers make
CRAFTED = [
    ("workers", "pekerja.jsonl", jsonl(
        {"id": ""}, {"id": "a b"}, {"id": "x" * 70}, {"id": 5}, {"name": "tanpa id"},
        {"id": "W-C1", "documents": {"passport": "ya"}, "available": "mungkin", "skills": "menjahit"},
        {"id": "W-C2", "skills": [""], "certificates": ["a"] * 101, "languages": ["ja"]},
        {"id": "W-C3", "languages": [{"language": "ja", "test": "JLPT", "level": "N9"}, {"language": "xx", "level": "A"},
                                     {"language": "ja", "test": "FOO", "level": "N4"}, {"language": "j", "level": "A1"}]},
        {"id": "W-C4", "experience": [{"occupation": "penjahit", "years": "lama", "country": "Narnia"},
                                      {"occupation": "las", "years": 99, "country": "XX"}]},
        {"id": "W-C5", "trainings": [{"hours": "1.5.2", "completed": "2025-13-01"}, {"completed": "2025/01/01"},
                                     {"completed": "25-1-1"}, {"completed": "2025-02-30"}, {"completed": 20250101}]},
        {"id": "W-C6", "preferences": "JP"}, {"id": "W-C7", "preferences": {"countries": "JP", "domestic": "kadang"}},
        {"id": "W-C8", "region": "Jatim", "education": "SMU", "gender": "X", "nik": 3508014404990002},
        {"id": "W-C9", "documents": {str(i): True for i in range(31)}, "birth_date": "2099-01-01"},
        {"id": "W-C10", "birth_date": "1899-01-01"}, {"id": "W-C11", "birth_date": "2015-01-01",
                                                      "preferences": {"domestic": True, "countries": ["ID"]}},
        {"id": "W-C12", "birth_date": "2010-01-01", "preferences": {"countries": ["JP"]}},
        {"id": "W-C12"}, {"id": "W-C13", "birth_date": "2000-01-01T10:00:00"})
     + b"[1, 2]\n{not json\n"),
    ("vacancies", "lowongan.jsonl", jsonl(
        {"id": "V-C1", "title": "a", "age_min": 40, "age_max": 30}, {"id": "V-C5", "title": "a", "positions": 2.5},
        {"id": "V-C2", "title": "a", "positions": "dua", "age_min": -1, "salary": 5, "scheme": "black-market"},
        {"id": "V-C3", "title": "a", "salary": {"currency": "rupiah", "period": "bulan", "amount": -1}},
        {"id": "V-C4", "title": " ", "deadline": "2025-01-01T01:02:03", "open": "kadang", "positions": 10**6})),
    ("trainings", "pelatihan.jsonl", jsonl({"id": "T-C1", "title": "a", "seats": 1e9, "hours": -1})),
    ("agencies", "agensi.jsonl", jsonl({"licence": "a b", "status": "aktif", "valid_until": "kemarin"})),
    ("outcomes", "hasil.jsonl", jsonl({"worker_id": "W-NONE", "vacancy_id": "V-NONE", "stage": "hired"},
                                      {"worker_id": "W1", "vacancy_id": "V1", "stage": "x"})),
    ("workers", "pekerja.csv", b"id,languages,experience,trainings,skills\n"
                                  b"W-D1,ja-N4,a:b:c:d,T-1:2:3:4,[1\nW-D2,x,,,,,\nW-D4,,a:b:c:d,,\nW-D5,,,,[1\n"
                                  b'W-D3,"ja:JLPT:N4\n'),
]


def page_errors(client, kind: str, name: str, content: bytes, lang: str = "id") -> list[list[str]]:
    r = client.post(f"/import/{kind}/bulk?lang={lang}", data={"csrf": client.csrf}, files={"file": (name, content)})
    assert r.status_code == 422, (name, r.status_code)
    return table_rows(r.text)


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.iterdir()))
def test_each_bad_input_file_on_the_indonesian_page_has_every_message_in_indonesian(web, admin, caplog, name):
    from sepadan.web import messages_id

    before = sum(messages_id.UNTRANSLATED.values())
    kind = BAD_KINDS.get(name, "workers")
    if name in ("bom.csv", "crlf.csv"):  # good files: the corpus's reading cases
        assert upload(admin, kind, name, (BAD / name).read_bytes()).status_code == 303
        return
    with caplog.at_level(logging.INFO, logger="sepadan.web.messages_id"):
        rows = page_errors(admin, kind, name, (BAD / name).read_bytes(), lang="id")
    assert rows and all(row[3] for row in rows)
    assert sum(messages_id.UNTRANSLATED.values()) == before and not caplog.records, [row[3] for row in rows]
    english = page_errors(admin, kind, name, (BAD / name).read_bytes(), lang="en")
    assert [row[:3] for row in english] == [row[:3] for row in rows]  # the same rows and fields
    assert all(en[3] != ind[3] for en, ind in zip(english, rows)), (english, rows)
    assert admin.get("/import?lang=id").status_code == 200  # the page's language back to Indonesian


def test_every_check_of_the_contract_and_the_readers_reads_in_indonesian(web, admin, caplog):
    from sepadan.web import messages_id

    before = sum(messages_id.UNTRANSLATED.values())
    shown, english = [], []
    with caplog.at_level(logging.INFO, logger="sepadan.web.messages_id"):
        for kind, name, content in CRAFTED:
            shown += page_errors(admin, kind, name, content, lang="id")
            english += page_errors(admin, kind, name, content, lang="en")
    assert admin.get("/import?lang=id").status_code == 200
    assert len(shown) == len(english) >= 60 and sum(messages_id.UNTRANSLATED.values()) == before
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    for en, ind in zip(english, shown):  # the same row and field, the English page's message translated
        assert en[:3] == ind[:3] and messages_id.to_indonesian(html.unescape(en[3])) == html.unescape(ind[3]), en
    shown = [[html.unescape(c) for c in row] for row in shown]
    messages = {row[3] for row in shown}
    assert "wajib diisi" in messages and "harus berupa bilangan bulat, bukan pecahan" in messages
    assert "age_min 40 lebih besar dari age_max 30" in messages  # field names kept
    assert "paling banyak 30 butir, lebih dari itu" in messages and "'…' bukan isian seperti 'penjahit:2:ID'" in messages
    assert any(m.startswith("JSON di sel tidak sah: ") for m in messages), sorted(messages)
    assert any(m.startswith("harus berupa tanggal (YYYY-MM-DD): bulan di luar 1-12") for m in messages)
    assert "harus salah satu dari 'G2G', 'P2P', 'individual' atau 'domestic'" in messages
    assert {row[2] for row in shown} >= {"id", "gender", "region", "nik", "birth_date", "scheme", "worker_id"}


def test_a_message_without_a_translation_shows_in_english_and_is_counted_and_logged_without_values(caplog):
    from sepadan.web.messages_id import UNTRANSLATED, localise, shape

    message = "'Siti 3508014404990002' was frobnicated 3 times"
    with caplog.at_level(logging.INFO, logger="sepadan.web.messages_id"):
        out = localise([message, "is required", message], "id", where="test")
    assert out == [message, "wajib diisi", message]
    assert UNTRANSLATED[shape(message)] >= 2 and shape(message) == "'…' was frobnicated # times"
    (record,) = caplog.records
    assert record.levelno == logging.INFO and "2 messages shown in English" in record.getMessage()
    assert "Siti" not in record.getMessage() and "3508" not in record.getMessage()
    assert localise([message, "is required"], "en") == [message, "is required"]


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



# -- admin: API keys ------------------------------------------------------------------------------

TOKEN = re.compile(r"sk_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


def signed_in(web, token: str):
    client = web.anonymous()
    assert sign_in(client, token).status_code == 303
    client.csrf = csrf_of(client.get("/job-orders").text)
    return client


def test_the_keys_page_lists_every_key_with_its_scope_and_never_a_token(web, admin):
    r = admin.get("/admin/keys")
    assert r.status_code == 200 and admin.get("/admin").headers["location"] == "/admin/keys"
    body = r.text.split('class="list stack admin-key-table"', 1)[1]
    for name, key_id in web.api.key_ids.items():
        assert f"<code>{key_id}</code>" in body, name
    assert "officer_a1" in body and ">A1<" in body and "35" in body and "semua wilayah" in body
    assert not TOKEN.search(r.text) and not any(t in r.text for t in web.api.tokens.values())
    assert 'href="/admin" aria-current="page"' in r.text


def create_officer_key(client, label: str):
    return client.post("/admin/keys", data={"csrf": client.csrf, "role": "officer", "regions": "35.08, 53",
                                            "agency": "A2", "label": label})


def test_a_created_key_is_shown_once_after_a_redirect_and_a_reload_never_shows_it(web, admin, caplog):
    """Post/redirect/get: the POST answers 303 (no token anywhere in it), the page it leads to shows the
    token once, a reload says it was already shown; the flash waits in the store sealed, not readable."""
    from sqlalchemy import select

    from sepadan.store.web_flashes import web_flashes

    with caplog.at_level(logging.DEBUG):
        r = create_officer_key(admin, "Petugas baru")
        assert r.status_code == 303 and re.fullmatch(r"/admin/keys/[0-9a-f]+/created", r.headers["location"])
        assert not TOKEN.search(r.text) and all(not TOKEN.search(v) for v in r.headers.values())
        with web.api.engine.store.engine.connect() as conn:
            kept = [dict(row) for row in conn.execute(select(web_flashes)).mappings()]
        shown = admin.get(r.headers["location"])
        again = admin.get(r.headers["location"])
    assert len(kept) == 1 and not any(TOKEN.search(str(v)) for v in kept[0].values())  # sealed at rest
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    tokens = set(TOKEN.findall(shown.text))
    assert len(tokens) == 1
    (token,) = tokens
    key = find_key(web.api.engine.store, token)
    assert (key.role, key.regions, key.agency, key.label) == ("officer", ("35.08", "53"), "A2", "Petugas baru")
    assert r.headers["location"] == f"/admin/keys/{key.id}/created" and "Salin sekarang" in shown.text
    assert again.status_code == 200 and not TOKEN.search(again.text)
    assert f"Kunci {key.id} sudah ditampilkan sekali" in again.text
    assert not TOKEN.search(admin.get("/admin/keys").text) and f"<code>{key.id}</code>" in again.text
    logged = " ".join(rec.getMessage() + repr(rec.args) for rec in caplog.records)
    assert token not in logged and "Petugas baru" not in logged and key.id in logged
    with web.api.engine.store.engine.connect() as conn:
        assert conn.execute(select(web_flashes)).first() is None  # taken: gone from the store


def test_a_new_keys_token_is_for_the_session_that_made_it_and_expires_unseen(web, admin):
    r = create_officer_key(admin, "Petugas kedua")
    other = web.client("admin")  # the same admin key, another browser
    seen = other.get(r.headers["location"])
    assert seen.status_code == 200 and not TOKEN.search(seen.text) and "sudah ditampilkan" in seen.text
    assert TOKEN.search(admin.get(r.headers["location"]).text)  # still there for the session that made it
    late = create_officer_key(admin, "Petugas ketiga")
    web.clock.advance(minutes=11)
    expired = admin.get(late.headers["location"])
    assert expired.status_code == 200 and not TOKEN.search(expired.text) and "sudah ditampilkan" in expired.text
    assert admin.get("/admin/keys/ffffffff/created").status_code == 404
    assert web.client("officer").get(r.headers["location"]).status_code == 403


def test_a_key_with_a_bad_region_is_not_created(web, admin):
    before = admin.get("/admin/keys").text.count("<tr")
    r = admin.post("/admin/keys", data={"csrf": admin.csrf, "role": "planner", "regions": "Jawa Timur"})
    assert r.status_code == 422 and "regions" in r.text and not TOKEN.search(r.text)
    assert admin.get("/admin/keys").text.count("<tr") == before


def test_revoking_a_key_asks_first_and_ends_its_web_session(web, admin):
    _, token = create_key(web.api.engine.store, "officer", regions=("35",), label="to be revoked")
    key = find_key(web.api.engine.store, token)
    victim = signed_in(web, token)
    assert victim.get("/job-orders").status_code == 200
    confirm = admin.get(f"/admin/keys/{key.id}/revoke")
    assert confirm.status_code == 200 and f'action="/admin/keys/{key.id}/revoke"' in confirm.text
    assert find_key(web.api.engine.store, token) is not None  # asking is not revoking
    r = admin.post(f"/admin/keys/{key.id}/revoke", data={"csrf": csrf_of(confirm.text)})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/keys?revoked={key.id}"
    assert find_key(web.api.engine.store, token) is None
    ended = victim.get("/job-orders")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/signin")
    assert admin.post(f"/admin/keys/{key.id}/revoke", data={"csrf": admin.csrf}).status_code == 404
    assert admin.get(f"/admin/keys/{key.id}/revoke").status_code == 404


# -- admin: ranker versions ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def registry(web):
    return register_rankers(web.api.engine, 2, promote=(1,))


def test_the_models_page_shows_versions_and_the_champion_alias(registry, admin):
    r = admin.get("/admin/models")
    assert r.status_code == 200
    assert "Champion sekarang: versi 1" in r.text
    rows = r.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("</tr>")
    assert "sepadan-ranker/2" in rows[0] and "0.5200" in rows[0] and 'action="/admin/models/2/promote"' in rows[0]
    assert "sepadan-ranker/1" in rows[1] and "admin-alias-champion" in rows[1] and "/admin/models/1/promote" not in rows[1]


def test_promote_and_roll_back_move_the_champion_alias_in_the_tracking_store(registry, admin):
    r = admin.post("/admin/models/2/promote", data={"csrf": admin.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/admin/models?promoted=2"
    assert registry.champion_version() == 2 and registry.alias_version("previous-champion") == 1
    page = admin.get(r.headers["location"]).text
    assert "Versi 2 sekarang champion." in page and "Champion sekarang: versi 2" in page
    assert 'action="/admin/models/rollback"' in page
    r = admin.post("/admin/models/rollback", data={"csrf": admin.csrf})
    assert r.status_code == 303 and r.headers["location"] == "/admin/models?rolled_back=1"
    assert registry.champion_version() == 1 and registry.history() == [1]
    refused = admin.post("/admin/models/rollback", data={"csrf": admin.csrf})
    assert refused.status_code == 409 and "Tidak ada champion sebelumnya" in refused.text
    assert registry.champion_version() == 1
    assert admin.post("/admin/models/9/promote", data={"csrf": admin.csrf}).status_code == 404


def test_a_version_page_shows_its_metrics_and_fairness_figures(registry, admin):
    r = admin.get("/admin/models/2?lang=en")
    assert r.status_code == 200
    metrics = r.text.split('class="list admin-metrics"', 1)[1].split("</table>", 1)[0]
    assert "ndcg_at_10" in metrics and "0.5200" in metrics and "0.5000" in metrics  # ranker, transparent
    fairness = r.text.split('class="list admin-fairness"', 1)[1].split("</table>", 1)[0]
    assert "skew_at_10/gender/F" in fairness and "-0.0200" in fairness
    cv = r.text.split('class="list admin-fairness-cv"', 1)[1].split("</table>", 1)[0]
    assert "skew_at_10/age_band/18-24" in cv and "-0.2200" in cv and "-0.1700" in cv  # ranker, transparent
    assert "Fairness, cross-validated over all vacancies" in r.text
    assert "Held-out figures" in r.text and admin.get("/admin/models/99").status_code == 404


def test_every_admin_form_refuses_a_post_without_the_csrf_token(registry, web, admin):
    key_id = web.api.key_ids["planner"]
    for path, data in (("/admin/keys", {"role": "admin"}), (f"/admin/keys/{key_id}/revoke", {}),
                       ("/admin/models/2/promote", {}), ("/admin/models/rollback", {})):
        for token in ({}, {"csrf": "x" * 43}):
            assert admin.post(path, data=data | token).status_code == 403, (path, token)
    assert find_key(web.api.engine.store, web.api.tokens["planner"]) is not None
    assert registry.champion_version() == 1


@pytest.mark.parametrize("name", ["officer", "planner", "officer_all", "scoped_admin"])
def test_officers_planners_and_scoped_admins_get_403_on_admin_pages(registry, web, name):
    if name == "scoped_admin":
        client = signed_in(web, create_key(web.api.engine.store, "admin", regions=("35",))[1])
    else:
        client = web.client(name)
    for path in ("/admin", "/admin/keys", f"/admin/keys/{web.api.key_ids['planner']}/revoke", "/admin/models",
                 "/admin/models/1"):
        assert client.get(path).status_code == 403, path
    for path in ("/admin/keys", f"/admin/keys/{web.api.key_ids['planner']}/revoke", "/admin/models/2/promote",
                 "/admin/models/rollback"):
        assert client.post(path, data={"csrf": client.csrf, "role": "admin"}).status_code == 403, path
    assert find_key(web.api.engine.store, web.api.tokens["planner"]) is not None
    assert registry.champion_version() == 1


# -- the admin API --------------------------------------------------------------------------------

def test_the_admin_api_creates_lists_and_revokes_keys(web, admin):
    h = web.api.headers("admin")
    made = admin.post("/v1/keys", json={"role": "planner", "regions": ["35"], "label": "skrip"}, headers=h)
    assert made.status_code == 201
    body = made.json()
    assert TOKEN.fullmatch(body["token"]) and find_key(web.api.engine.store, body["token"]).id == body["key"]["id"]
    listed = admin.get("/v1/keys", headers=h).json()["items"]
    assert body["key"]["id"] in {k["id"] for k in listed}
    assert body["token"] not in json.dumps(listed) and "key_hash" not in json.dumps(listed)
    assert admin.delete(f"/v1/keys/{body['key']['id']}", headers=h).status_code == 204
    assert admin.delete(f"/v1/keys/{body['key']['id']}", headers=h).status_code == 404
    assert admin.post("/v1/keys", json={"role": "admin", "regions": ["Jawa"]}, headers=h).status_code == 422
    scoped = {"X-API-Key": create_key(web.api.engine.store, "admin", agency="A1")[1]}
    for method, path in (("GET", "/v1/keys"), ("POST", "/v1/keys"), ("GET", "/v1/models"),
                         ("POST", "/v1/models/rollback")):
        r = admin.request(method, path, headers=scoped, json={"role": "admin"} if method == "POST" else None)
        assert r.status_code == 403, path


def test_the_admin_api_lists_promotes_and_rolls_back_models(registry, web, admin):
    h = web.api.headers("admin")
    listed = admin.get("/v1/models", headers=h).json()
    assert listed["champion"] == 1 and [v["version"] for v in listed["versions"]] == [2, 1]
    assert listed["versions"][0]["ndcg_at_10"] == pytest.approx(0.52)
    shown = admin.get("/v1/models/2", headers=h).json()
    assert shown["metrics"]["ranker"]["ndcg_at_10"] == pytest.approx(0.52)
    assert shown["fairness_cv"]["transparent"]["skew_at_10/age_band/18-24"] == pytest.approx(-0.17)
    assert "fairness_cv" in admin.get("/openapi.json").json()["components"]["schemas"]["ModelReport"]["properties"]
    assert admin.post("/v1/models/2/promote", headers=h).json()["champion"] == 2 == registry.champion_version()
    assert admin.post("/v1/models/rollback", headers=h).json()["champion"] == 1 == registry.champion_version()
    assert admin.post("/v1/models/rollback", headers=h).status_code == 409
    assert admin.post("/v1/models/7/promote", headers=h).status_code == 404
