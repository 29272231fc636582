"""The data contract at the import edge: all-or-nothing, idempotent, NIK-safe, any format."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import logging
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings, write_jsonl
from openpyxl import Workbook

from sepadan.errors import InvalidInput
from sepadan.ingest.importer import import_file, load_records
from sepadan.store.db import Store
from sepadan.store.pii import Vault

ROOT = Path(__file__).resolve().parents[1]
PAPUA_NIK = "9271014101900003"
SECRET = b"test-secret-not-for-production"

WORKERS: list[dict[str, Any]] = [
    {
        "id": "W-000123",
        "name": "Siti Rahma",
        "nik": "3508014404990002",
        "birth_date": "1999-04-04",
        "gender": "F",
        "region": "35.08",
        "education": "SMK",
        "skills": ["menjahit", "tata boga", "merawat lansia"],
        "languages": [
            {"language": "ja", "test": "JLPT", "level": "N4"},
            {"language": "en", "test": "CEFR", "level": "A2"},
        ],
        "trainings": [{"program_id": "T-07", "hours": 200, "completed": "2025-06-30"}],
        "experience": [{"occupation": "penjahit", "years": 2, "country": "ID"}],
        "certificates": ["SSW kaigo skills test"],
        "documents": {"passport": True, "medical": True, "police_clearance": False},
        "preferences": {"countries": ["JP", "TW"], "domestic": True, "sectors": ["care"]},
        "available": True,
    },
    {
        "id": "W-000200",
        "name": "Yosina Kambu",
        "nik": PAPUA_NIK,
        "birth_date": "1990-01-01",
        "gender": "F",
        "region": "92.71",
        "education": "SMA",
        "skills": ["memasak", "mengasuh anak", "kasir"],
        "languages": [{"language": "en", "test": "CEFR", "level": "A2"}],
        "experience": [{"occupation": "kasir", "years": 3, "country": "ID"}],
        "documents": {"passport": False, "bpjs": True},
        "preferences": {"domestic": True, "sectors": ["hospitality"]},
        "available": True,
    },
    {
        "id": "W-000301",
        "name": "Budi Santoso",
        "nik": "1801011505950001",
        "birth_date": "1995-05-15",
        "gender": "M",
        "region": "18.01",
        "education": "SMK",
        "skills": ["mengelas"],
        "languages": [{"language": "ko", "test": "EPS-TOPIK", "level": "pass"}],
        "preferences": {"countries": ["KR"], "domestic": False},
        "available": False,
    },
]
VACANCIES: list[dict[str, Any]] = [
    {
        "id": "V-0042",
        "title": "Caregiver (kaigo), Specified Skilled Worker",
        "employer": "Sakura Care Osaka",
        "agency_licence": "P3MI-2023-0117",
        "country": "JP",
        "sector": "care",
        "occupation": "5322",
        "skills_required": ["elderly care", "personal hygiene assistance"],
        "skills_preferred": ["dementia care", "cooking"],
        "languages": [{"language": "ja", "test": "JLPT", "min_level": "N4"}],
        "education_min": "SMA",
        "age_min": 18,
        "age_max": 35,
        "experience_years_min": 0,
        "certificates_required": ["SSW kaigo skills test"],
        "positions": 12,
        "salary": {"amount": 180000, "currency": "JPY", "period": "month"},
        "scheme": "P2P",
        "deadline": "2026-12-31",
        "open": True,
        "program": "SSW",
    },
    {
        "id": "V-0300",
        "title": "Juru masak restoran",
        "country": "ID",
        "region": "35.08",
        "occupation": "5120",
        "skills_required": ["memasak"],
        "scheme": "domestic",
        "positions": 2,
        "open": True,
    },
]
# The header of a CSV or sheet: every flattened field, in the contract's spelling.
WORKER_COLUMNS = [
    "id",
    "name",
    "nik",
    "birth_date",
    "gender",
    "region",
    "education",
    "skills",
    "languages",
    "trainings",
    "experience",
    "certificates",
    "documents.passport",
    "documents.medical",
    "documents.police_clearance",
    "documents.bpjs",
    "preferences.countries",
    "preferences.domestic",
    "preferences.sectors",
    "available",
]
VACANCY_COLUMNS = [
    "id",
    "title",
    "employer",
    "agency_licence",
    "country",
    "region",
    "sector",
    "occupation",
    "skills_required",
    "skills_preferred",
    "languages",
    "education_min",
    "age_min",
    "age_max",
    "experience_years_min",
    "certificates_required",
    "positions",
    "salary.amount",
    "salary.currency",
    "salary.period",
    "scheme",
    "deadline",
    "open",
    "program",
]
COLUMNS = {"workers": WORKER_COLUMNS, "vacancies": VACANCY_COLUMNS}


# -------------------------------------------------------------- writers (the contract's flat form)
def _flat_value(key: str, value: Any, *, excel: bool) -> Any:
    """One record field as a CSV/Excel cell, by the data contract's rules, not the reader's."""
    if value is None:
        return None
    if key == "languages":
        return ";".join(
            f"{x['language']}:{x['test']}:{x.get('level') or x['min_level']}" for x in value
        )
    if key == "experience":
        return ";".join(f"{x['occupation']}:{x['years']}:{x['country']}" for x in value)
    if key == "trainings":
        return ";".join(f"{x['program_id']}:{x['hours']}:{x['completed']}" for x in value)
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool):
        return value if excel else str(value).lower()
    if excel and key in ("birth_date", "deadline"):
        return date.fromisoformat(value)
    if excel and key == "occupation":
        return int(value)  # a code typed as a number in Excel must come back as the same text
    if isinstance(value, (int, float)):
        return value if excel else str(value)
    return value


def _lookup(record: dict[str, Any], column: str) -> Any:
    value: Any = record
    for part in column.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _rows(kind: str, records: list[dict[str, Any]], *, excel: bool) -> list[list[Any]]:
    return [[_flat_value(c, _lookup(r, c), excel=excel) for c in COLUMNS[kind]] for r in records]


def write_csv(path: Path, kind: str, records: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS[kind])
        for row in _rows(kind, records, excel=False):
            writer.writerow(["" if v is None else v for v in row])
    return path


def write_xlsx(
    path: Path, kind: str, records: list[dict[str, Any]], *, nik_as_number: bool = False
) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = kind
    sheet.append(COLUMNS[kind])
    for row in _rows(kind, records, excel=True):
        if nik_as_number and kind == "workers":
            row[COLUMNS[kind].index("nik")] = int(row[COLUMNS[kind].index("nik")])
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                cell.number_format = "@"  # text, as an officer is told to format the NIK column
    book.save(path)
    return path


# ---------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def vault() -> Vault:
    return Vault(SECRET)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'store' / 'sepadan.db'}")


def _open(tmp_path: Path, name: str) -> Store:
    return Store.open(f"sqlite:///{tmp_path / name / 'sepadan.db'}")


def _bad_workers() -> list[dict[str, Any]]:
    bad = copy.deepcopy(WORKERS)
    bad[1]["languages"] = [{"language": "en", "test": "CEFR", "level": "Z9"}]
    return bad


# ------------------------------------------------------------------------------ (1) all or nothing
def test_one_bad_row_imports_nothing_and_names_file_row_and_field(tmp_path, store, vault):
    path = write_csv(tmp_path / "workers.csv", "workers", _bad_workers())
    empty = store.fingerprint("workers")
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", path)
    assert [(e.file, e.row, e.field) for e in info.value.errors] == [
        ("workers.csv", 3, "languages[0].level")
    ]
    assert "Z9" in info.value.errors[0].message
    assert "workers.csv" in str(info.value) and "row 3" in str(info.value)
    assert "languages[0].level" in str(info.value)
    assert store.count("workers") == 0
    assert store.fingerprint("workers") == empty


def test_every_invalid_row_is_reported_not_only_the_first(tmp_path, store, vault):
    bad = _bad_workers()
    bad[2]["birth_date"] = "1995-02-30"
    bad.append(dict(WORKERS[0]))  # a duplicate id
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", write_csv(tmp_path / "w.csv", "workers", bad))
    assert {(e.row, e.field) for e in info.value.errors} == {
        (3, "languages[0].level"),
        (4, "birth_date"),
        (5, "id"),
    }
    assert store.count("workers") == 0


def test_jsonl_rows_are_numbered_by_line(tmp_path, store, vault):
    path = tmp_path / "w.jsonl"
    lines = [json.dumps(WORKERS[0]), "", "{not json", json.dumps({"name": "no id"})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", path)
    assert {(e.row, e.field) for e in info.value.errors} == {(3, "(line)"), (4, "id")}
    assert store.count("workers") == 0


# ---------------------------------------------------------------------------------- (2) idempotent
def test_fixed_file_imports_once_and_again_changes_nothing(tmp_path, store, vault):
    path = write_csv(tmp_path / "workers.csv", "workers", WORKERS)
    first = import_file(store, vault, "workers", path)
    assert (first.rows, first.inserted, first.updated, first.unchanged) == (3, 3, 0, 0)
    fingerprint = store.fingerprint("workers")
    again = import_file(store, vault, "workers", path)
    assert (again.rows, again.inserted, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert store.fingerprint("workers") == fingerprint


def test_a_changed_row_is_one_update(tmp_path, store, vault):
    import_file(store, vault, "workers", write_jsonl(tmp_path / "a.jsonl", WORKERS))
    before = store.fingerprint("workers")
    changed = copy.deepcopy(WORKERS)
    changed[0]["skills"].append("merawat bayi")
    report = import_file(store, vault, "workers", write_jsonl(tmp_path / "b.jsonl", changed))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    assert store.fingerprint("workers") != before
    assert "merawat bayi" in store.get("workers", "W-000123")["skills"]


def test_a_changed_name_alone_is_an_update(tmp_path, store, vault):
    """Personal fields live outside the document but still count as content."""
    import_file(store, vault, "workers", write_jsonl(tmp_path / "a.jsonl", WORKERS))
    renamed = copy.deepcopy(WORKERS)
    renamed[1]["name"] = "Yosina K."
    report = import_file(store, vault, "workers", write_jsonl(tmp_path / "b.jsonl", renamed))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    assert vault.open(store.raw("workers", "W-000200")["pii_enc"])["name"] == "Yosina K."


# -------------------------------------------------------------------------------- (3) skip invalid
def test_skip_invalid_writes_valid_rows_and_a_rejects_file(tmp_path, store, vault):
    path = write_csv(tmp_path / "workers.csv", "workers", _bad_workers())
    report = import_file(store, vault, "workers", path, skip_invalid=True)
    assert (report.rows, report.inserted, report.rejected) == (3, 2, 1)
    assert store.ids("workers") == {"W-000123", "W-000301"}
    assert Path(report.rejects_file) == tmp_path / "workers.rejects.csv"
    with open(report.rejects_file, encoding="utf-8", newline="") as handle:
        rejects = list(csv.DictReader(handle))
    assert [(r["file"], r["row"], r["field"]) for r in rejects] == [
        ("workers.csv", "3", "languages[0].level")
    ]


def test_skip_invalid_honours_an_explicit_rejects_path(tmp_path, store, vault):
    path = write_csv(tmp_path / "workers.csv", "workers", _bad_workers())
    target = tmp_path / "out" / "rejected.csv"
    target.parent.mkdir()
    report = import_file(store, vault, "workers", path, skip_invalid=True, rejects_path=target)
    assert report.rejects_file == str(target) and target.exists()
    assert not (tmp_path / "workers.rejects.csv").exists()


def test_cli_skip_invalid(tmp_path):
    path = write_csv(tmp_path / "workers.csv", "workers", _bad_workers())
    home = tmp_path / "home"
    result = _cli(
        "import", "workers", str(path), "--skip-invalid", "--no-index", "--home", str(home)
    )
    assert result.returncode == 0, result.stderr
    assert "2 new" in result.stdout and "1 rejected" in result.stdout
    rows = list(csv.DictReader((tmp_path / "workers.rejects.csv").open(encoding="utf-8")))
    assert [(r["row"], r["field"]) for r in rows] == [("3", "languages[0].level")]
    assert Store.open(make_settings(home).url).ids("workers") == {"W-000123", "W-000301"}


# ----------------------------------------------------------------------------- (4) the NIK as text
def _assert_papua_nik_intact(store: Store, vault: Vault) -> None:
    raw = store.raw("workers", "W-000200")
    assert vault.open(raw["pii_enc"]) == {"nik": PAPUA_NIK, "name": "Yosina Kambu"}
    assert raw["nik_hmac"] == vault.nik_hmac(PAPUA_NIK)
    assert (
        raw["nik_hmac"] != hashlib.sha256(PAPUA_NIK.encode()).hexdigest()
    )  # keyed, not a bare hash
    assert "nik" not in store.get("workers", "W-000200") and "name" not in store.get(
        "workers", "W-000200"
    )


def test_papua_nik_survives_csv_import(tmp_path, store, vault):
    import_file(store, vault, "workers", write_csv(tmp_path / "w.csv", "workers", WORKERS))
    _assert_papua_nik_intact(store, vault)


def test_papua_nik_survives_excel_import(tmp_path, store, vault):
    import_file(store, vault, "workers", write_xlsx(tmp_path / "w.xlsx", "workers", WORKERS))
    _assert_papua_nik_intact(store, vault)


def test_excel_nik_stored_as_a_number_is_rejected(tmp_path, store, vault):
    # 3508014404990002 < 2**53, so the number itself is exact: it is refused for being a number.
    path = write_xlsx(tmp_path / "w.xlsx", "workers", WORKERS[:1], nik_as_number=True)
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", path)
    assert [(e.row, e.field) for e in info.value.errors] == [(2, "nik")]
    assert "field 'nik'" in str(info.value) and "text" in info.value.errors[0].message.lower()
    assert store.count("workers") == 0


def test_csv_nik_mangled_by_a_spreadsheet_is_rejected(tmp_path, store, vault):
    mangled = copy.deepcopy(WORKERS[1:2])
    mangled[0]["nik"] = "9.27101E+15"
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", write_csv(tmp_path / "w.csv", "workers", mangled))
    assert [(e.row, e.field) for e in info.value.errors] == [(2, "nik")]


def test_a_csv_quote_left_open_is_an_error_and_writes_nothing(tmp_path, store, vault):
    path = tmp_path / "w.csv"
    path.write_text('id,region,skills\nW-1,35.08,menjahit\nW-2,35.08,"memasak\nW-3,35.08,las\n', encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", path)
    assert [(e.row, e.field) for e in info.value.errors] == [(3, "(row)")]
    assert "not valid CSV" in info.value.errors[0].message
    assert store.count("workers") == 0


def test_row_errors_never_echo_personal_values(tmp_path, store, vault):
    """A NIK, name or birth date that fails validation is named by field, never shown: errors reach
    screens and rejects files."""
    bad = copy.deepcopy(WORKERS)
    bad[0]["nik"] = "35080144049900021"  # 17 digits
    bad[1]["name"] = "Yosina " * 80  # too long
    bad[2]["birth_date"] = "1995-15-05"
    path = write_csv(tmp_path / "w.csv", "workers", bad)
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", path)
    assert {(e.row, e.field) for e in info.value.errors} == {
        (2, "nik"),
        (3, "name"),
        (4, "birth_date"),
    }
    report = import_file(store, vault, "workers", path, skip_invalid=True)
    shown = (
        str(info.value)
        + "\n".join(map(str, info.value.errors))
        + Path(report.rejects_file).read_text()
    )
    for secret in ("35080144049900021", "Yosina", "1995-15-05"):
        assert secret not in shown


def test_excel_number_nik_error_does_not_echo_the_number(tmp_path, store, vault):
    path = write_xlsx(tmp_path / "w.xlsx", "workers", WORKERS[:1], nik_as_number=True)
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "workers", path)
    assert "3508014404990002" not in str(info.value.errors[0])


# -------------------------------------------------------------- (5) one fingerprint, three formats
@pytest.mark.parametrize("kind, records", [("workers", WORKERS), ("vacancies", VACANCIES)])
def test_jsonl_csv_and_excel_give_the_same_fingerprint(tmp_path, vault, kind, records):
    files = {
        "jsonl": write_jsonl(tmp_path / f"{kind}.jsonl", records),
        "csv": write_csv(tmp_path / f"{kind}.csv", kind, records),
        "xlsx": write_xlsx(tmp_path / f"{kind}.xlsx", kind, records),
    }
    prints, docs = {}, {}
    for fmt, path in files.items():
        store = _open(tmp_path, fmt)
        report = import_file(store, vault, kind, path)
        assert report.inserted == len(records), fmt
        prints[fmt] = store.fingerprint(kind)
        docs[fmt] = list(store.rows(kind))
    assert docs["csv"] == docs["jsonl"] and docs["xlsx"] == docs["jsonl"]
    assert prints["csv"] == prints["jsonl"] == prints["xlsx"]


# ------------------------------------------------------------------------------ (6) unknown fields
def test_unknown_fields_are_kept_not_errors(tmp_path, store, vault):
    worker = copy.deepcopy(WORKERS[1])
    worker["kabupaten_asal"] = "Kota Sorong"
    worker["catatan"] = {"sumber": "Disnaker", "petugas": 7}
    worker["languages"][0]["issued"] = "2024-07-07"
    import_file(store, vault, "workers", write_jsonl(tmp_path / "w.jsonl", [worker]))
    doc = store.get("workers", "W-000200")
    assert doc["kabupaten_asal"] == "Kota Sorong"
    assert doc["catatan"] == {"sumber": "Disnaker", "petugas": 7}
    assert doc["languages"][0]["issued"] == "2024-07-07"
    assert load_records(store, "workers")[0].id == "W-000200"


def test_unknown_csv_columns_are_kept(tmp_path, store, vault):
    path = tmp_path / "v.csv"
    path.write_text(
        "id,title,kode_lpk,catatan.petugas\nV-1,Juru masak,LPK-77,Rina\n", encoding="utf-8"
    )
    report = import_file(store, vault, "vacancies", path)
    assert report.inserted == 1
    doc = store.get("vacancies", "V-1")
    assert doc["kode_lpk"] == "LPK-77" and doc["catatan"] == {"petugas": "Rina"}


# ---------------------------------------------------------------------- (7) the NIK never in clear
def test_nik_never_in_clear_in_the_database_files_or_the_logs(tmp_path, caplog, make_engine):
    caplog.set_level(logging.DEBUG)
    engine = make_engine({"workers": WORKERS, "vacancies": VACANCIES})
    engine.import_file("workers", write_csv(tmp_path / "again.csv", "workers", WORKERS))
    engine.build()
    engine.store.engine.dispose()
    files = [p for p in engine.settings.home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("sepadan.db") for p in files)
    niks = [w["nik"] for w in WORKERS]
    for path in files:
        data = path.read_bytes()
        for secret in (*niks, "Yosina Kambu"):
            assert secret.encode() not in data, f"{secret} in clear in {path.name}"
    assert caplog.records, "expected the import and build to log something"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for nik in niks:
        assert nik not in logged
        assert nik not in caplog.text


# ---------------------------------------------------------------------------------- (8) references
def test_outcome_for_an_unknown_worker_is_rejected(tmp_path, store, vault):
    import_file(store, vault, "workers", write_jsonl(tmp_path / "w.jsonl", WORKERS))
    import_file(store, vault, "vacancies", write_jsonl(tmp_path / "v.jsonl", VACANCIES))
    outcomes = [
        {"worker_id": "W-000123", "vacancy_id": "V-0042", "stage": "hired", "date": "2026-02-14"},
        {"worker_id": "W-404404", "vacancy_id": "V-0042", "stage": "shortlisted"},
        {"worker_id": "W-000200", "vacancy_id": "V-9999", "stage": "shortlisted"},
    ]
    with pytest.raises(InvalidInput) as info:
        import_file(store, vault, "outcomes", write_jsonl(tmp_path / "o.jsonl", outcomes))
    assert {(e.row, e.field) for e in info.value.errors} == {(2, "worker_id"), (3, "vacancy_id")}
    assert "W-404404" in str(info.value)
    assert store.count("outcomes") == 0
    report = import_file(store, vault, "outcomes", write_jsonl(tmp_path / "ok.jsonl", outcomes[:1]))
    assert report.inserted == 1


# ------------------------------------------------------------------------------------- (9) the CLI
def _cli(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SEPADAN_") and k not in ("COLUMNS", "LINES")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["HF_HUB_OFFLINE"] = "1"
    if columns:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "sepadan.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_cli_bad_import_prints_one_line_per_error_and_no_traceback(tmp_path):
    bad = _bad_workers()
    bad[2]["gender"] = "X"
    path = write_csv(tmp_path / "bad.csv", "workers", bad)
    home = tmp_path / "home"
    result = _cli("import", "workers", str(path), "--home", str(home))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = _error_lines(result.stderr)
    assert len(lines) == 2, result.stderr
    assert "row 3" in lines[0] and "languages[0].level" in lines[0] and "bad.csv" in lines[0]
    assert "row 4" in lines[1] and "gender" in lines[1]
    assert "nothing was written" in result.stderr
    assert Store.open(make_settings(home).url).count("workers") == 0


def test_cli_long_error_messages_stay_on_one_line(tmp_path):
    """Regression: stderr is not a terminal here (80 columns); a long message must not wrap."""
    bad = copy.deepcopy(WORKERS)
    bad[1]["education"] = "SMK kejuruan teknik mesin"
    result = _cli(
        "import",
        "workers",
        str(write_csv(tmp_path / "bad.csv", "workers", bad)),
        "--home",
        str(tmp_path / "home"),
    )
    assert result.returncode != 0
    lines = _error_lines(result.stderr)
    assert len(lines) == 1 and "row 3" in lines[0] and "education" in lines[0]
    assert "(SD, SMP, SMA, SMK, D1-D4, S1-S3)" in lines[0], result.stderr
