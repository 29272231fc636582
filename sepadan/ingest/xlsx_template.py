"""Blank Excel workbooks of the data contract, one per kind, to fill in and import.

The first sheet (named after the kind, the one the Excel reader picks) holds the contract's field
names in the flat form the readers take (nested objects as ``documents.passport``, lists joined by
``;``, languages as ``ja:JLPT:N4``, a JSON list where an entry has more parts than the short form
holds) and, in row 2, the data contract's example (``/work/shared/design/data-contract.md``). The
columns of ids, codes and the NIK are formatted as Text (``@``), the whole column and each of the
first :data:`TEXT_ROWS` cells, so Excel never turns ``3508014404990002`` into ``3.508E+15`` or
``35.10`` into ``35.1``. A second sheet says how each column is written. Built from the contract's
models, so a field added there is a column here.
"""

from __future__ import annotations

import io
import json
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from sepadan.contract import KINDS, MODELS
from sepadan.errors import SepadanError
from sepadan.ingest.readers import (
    EXPERIENCE_FIELDS, LANGUAGE_FIELDS, LIST_FIELDS, TEXT_FIELDS, TRAINING_FIELDS,
)

TEXT_ROWS = 1000  # rows below the header whose id and code cells carry the Text format themselves
HELP_SHEET = "cara-isi"
DOCUMENTS = ("passport", "medical", "police_clearance", "bpjs", "family_consent")
_TRAINING = [{"program_id": "T-07", "title": "Caregiver dasar", "provider": "LPK Mitra Lumajang", "hours": 200,
              "completed": "2025-06-30", "skills": ["perawatan lansia"]}]
EXAMPLES: dict[str, dict[str, Any]] = {  # the data contract's examples, in the flat form
    "workers": {
        "id": "W-000123", "name": "Siti Rahma", "nik": "3508014404990002", "birth_date": "1999-04-04",
        "gender": "F", "region": "35.08", "education": "SMK", "skills": "menjahit; tata boga; merawat lansia",
        "languages": "ja:JLPT:N4; en:CEFR:A2", "trainings": json.dumps(_TRAINING, ensure_ascii=False),
        "experience": "penjahit:2:ID", "certificates": "SSW kaigo skills test", "documents.passport": True,
        "documents.medical": True, "documents.police_clearance": False, "documents.bpjs": True,
        "documents.family_consent": True, "preferences.countries": "JP; TW", "preferences.domestic": True,
        "preferences.sectors": "care", "available": True,
    },
    "vacancies": {
        "id": "V-0042", "title": "Caregiver (kaigo), Specified Skilled Worker", "employer": "Sakura Care Osaka",
        "agency_licence": "P3MI-2023-0117", "country": "JP", "sector": "care", "occupation": "5322",
        "description": "Daily care of elderly residents in a nursing home ...",
        "skills_required": "elderly care; personal hygiene assistance", "skills_preferred": "dementia care; cooking",
        "languages": "ja:JLPT:N4", "education_min": "SMA", "age_min": 18, "age_max": 35,
        "experience_years_min": 0, "certificates_required": "SSW kaigo skills test", "positions": 12,
        "salary.amount": 180000, "salary.currency": "JPY", "salary.period": "month", "scheme": "P2P",
        "deadline": "2026-12-31", "open": True,
    },
    "trainings": {
        "id": "T-07", "title": "Bahasa Jepang N4", "provider": "LPK Mitra Lumajang", "region": "35.08",
        "languages": "ja:JLPT:N4", "hours": 480, "duration_weeks": 12, "cost_idr": 0, "seats": 30,
        "next_start": "2027-01-10",
    },
    "agencies": {"licence": "P3MI-2023-0117", "name": "PT Contoh Penempatan", "status": "active",
                 "valid_until": "2028-03-01"},
    "outcomes": {"worker_id": "W-000123", "vacancy_id": "V-0042", "stage": "hired", "date": "2026-02-14"},
}
_FORMS = {  # how a column is written: (Indonesian, English)
    "text": ("teks (sel berformat Teks)", "text (a cell formatted as Text)"),
    "list": ("daftar dipisah ';', mis. menjahit; memasak", "a list joined by ';', e.g. menjahit; memasak"),
    "languages": ("bahasa:tes:tingkat dipisah ';', mis. ja:JLPT:N4; en:CEFR:A2",
                  "language:test:level joined by ';', e.g. ja:JLPT:N4; en:CEFR:A2"),
    "experience": ("jabatan:tahun:negara, mis. penjahit:2:ID", "occupation:years:country, e.g. penjahit:2:ID"),
    "trainings": ("program:jam:selesai, mis. T-07:200:2025-06-30, atau daftar JSON seperti contoh",
                  "program:hours:completed, e.g. T-07:200:2025-06-30, or a JSON list as in the example"),
    "date": ("tanggal YYYY-MM-DD", "a date, YYYY-MM-DD"),
    "bool": ("TRUE atau FALSE (kosong: tidak diketahui)", "TRUE or FALSE (empty: not known)"),
    "number": ("angka", "a number"),
    "other": ("teks", "text"),
}


def columns(kind: str) -> list[str]:
    """The flat column names of a kind, in the contract model's field order."""
    if kind not in KINDS:
        raise SepadanError(f"unknown kind '{kind}' (use one of: {', '.join(KINDS)})")
    out: list[str] = []
    for name, info in MODELS[kind].model_fields.items():
        if name == "documents":
            out += [f"documents.{d}" for d in DOCUMENTS]
        elif (nested := _model(info.annotation)) is not None:
            out += [f"{name}.{sub}" for sub in nested.model_fields]
        else:
            out.append(name)
    return out


def _model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model of a field written as nested columns (``X`` or ``X | None``), else None."""
    if get_origin(annotation) is list:
        return None
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def form(kind: str, column: str) -> str:
    """Which of :data:`_FORMS` a column is written in."""
    if column in TEXT_FIELDS:
        return "text"
    for fields, name in ((LIST_FIELDS, "list"), (LANGUAGE_FIELDS, "languages"),
                         (EXPERIENCE_FIELDS, "experience"), (TRAINING_FIELDS, "trainings")):
        if column in fields:
            return name
    example = EXAMPLES[kind].get(column)
    if isinstance(example, bool) or column.startswith("documents."):
        return "bool"
    if isinstance(example, (int, float)):
        return "number"
    if column in ("birth_date", "deadline", "valid_until", "date", "next_start"):
        return "date"
    return "other"


def template_xlsx(kind: str) -> bytes:
    """The workbook for ``kind``: the sheet named after it (header, example row) and the help sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cols = columns(kind)
    book = Workbook()
    ws = book.active
    ws.title = kind
    ws.append(cols)
    example = EXAMPLES[kind]
    ws.append([example.get(c) for c in cols])
    for i, col in enumerate(cols, start=1):
        ws.cell(1, i).font = Font(bold=True)
        letter = ws.cell(1, i).column_letter
        ws.column_dimensions[letter].width = min(40, max(len(col), len(str(example.get(col, "")))) + 2)
        if col in TEXT_FIELDS:
            ws.column_dimensions[letter].number_format = "@"  # the column's own format, for rows below
            for row in range(2, TEXT_ROWS + 2):
                ws.cell(row, i).number_format = "@"
    ws.freeze_panes = "A2"
    _help_sheet(book, kind, cols)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _help_sheet(book: Any, kind: str, cols: list[str]) -> None:
    from openpyxl.styles import Font

    ws = book.create_sheet(HELP_SHEET)
    ws.append(["kolom / column", "cara menulis", "how to write it", "wajib / required"])
    required = {n for n, info in MODELS[kind].model_fields.items() if info.is_required()}
    for col in cols:
        indonesian, english = _FORMS[form(kind, col)]
        ws.append([col, indonesian, english, "ya / yes" if col in required else ""])
    ws.append([])
    ws.append(["Baris 2 lembar pertama adalah contoh dari kontrak data: hapus atau ganti sebelum impor.",
               "", "Row 2 of the first sheet is the data contract's example: delete or replace it before importing."])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (26, 60, 60, 16)):
        ws.column_dimensions[letter].width = width
