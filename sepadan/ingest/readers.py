"""Read JSON Lines, CSV and Excel files into (row number, dict) pairs in the contract's shape.

Row numbers are what a person sees: the line in a JSON Lines file, the spreadsheet row in CSV and
Excel (the header is row 1). CSV and Excel cells are strings or numbers; this module turns the
flat form (``documents.passport``, ``a;b``, ``ja:JLPT:N4``) back into the nested one. It never
guesses at a NIK: a CSV cell stays text, an Excel number stays a number so validation can refuse it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sepadan.errors import RowError, SepadanError

LIST_FIELDS = {
    "skills", "certificates", "skills_required", "skills_preferred", "certificates_required",
    "preferences.countries", "preferences.sectors",
}
LANGUAGE_FIELDS = {"languages"}
EXPERIENCE_FIELDS = {"experience"}
TRAINING_FIELDS = {"trainings"}
TEXT_FIELDS = {"id", "nik", "worker_id", "vacancy_id", "licence", "agency_licence", "program_id",
               "region", "occupation", "title", "name"}

Row = tuple[int, dict[str, Any] | RowError]


def read_rows(path: Path, *, kind: str) -> Iterator[Row]:
    """Yield (row number, record dict) or (row number, RowError) for each data row of a file."""
    suffix = path.suffix.casefold()
    if not path.exists():
        raise SepadanError(f"{path}: no such file")
    if suffix in {".jsonl", ".ndjson", ".json"}:
        yield from _jsonl(path)
    elif suffix in {".csv", ".tsv", ".txt"}:
        yield from _csv(path, delimiter="\t" if suffix == ".tsv" else ",")
    elif suffix in {".xlsx", ".xlsm"}:
        yield from _excel(path, kind=kind)
    else:
        raise SepadanError(f"{path}: unknown file type '{suffix}' (use .jsonl, .csv or .xlsx)")


def _jsonl(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RowError(path.name, number, "(line)", f"not valid JSON: {exc.msg}")
                continue
            if not isinstance(value, dict):
                yield number, RowError(path.name, number, "(line)", "each line must be a JSON object")
                continue
            yield number, value


def _csv(path: Path, *, delimiter: str) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        number = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a quote opened and never closed: the rest is unreadable
                yield number + 1, RowError(path.name, number + 1, "(row)", f"not valid CSV: {exc}")
                return
            number += 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                yield number, RowError(path.name, number, "(row)", f"{len(cells)} cells but {len(header)} columns")
                continue
            yield number, _nest(path.name, number, dict(zip(header, cells)))


def _excel(path: Path, *, kind: str) -> Iterator[Row]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book[kind] if kind in book.sheetnames else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        for number, cells in enumerate(rows, start=2):
            if all(c is None or str(c).strip() == "" for c in cells):
                continue
            values = {h: _cell(v) for h, v in zip(header, cells) if h}
            yield number, _nest(path.name, number, values)
    finally:
        book.close()


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _nest(file: str, number: int, flat: dict[str, Any]) -> dict[str, Any] | RowError:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        try:
            parsed = _parse_cell(key, value)
        except ValueError as exc:
            return RowError(file, number, key, str(exc))
        _put(out, key.split("."), parsed)
    return out


def _put(out: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        out = out.setdefault(part, {})
    out[parts[-1]] = value


def _parse_cell(key: str, value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{":
            return json.loads(text)
        if key in LIST_FIELDS:
            return [p.strip() for p in text.split(";") if p.strip()]
        if key in LANGUAGE_FIELDS:
            return [_language(p) for p in text.split(";") if p.strip()]
        if key in EXPERIENCE_FIELDS:
            return [_experience(p) for p in text.split(";") if p.strip()]
        if key in TRAINING_FIELDS:
            return [_training(p) for p in text.split(";") if p.strip()]
        return text
    if key in TEXT_FIELDS - {"nik"} and isinstance(value, (int, float)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, float) and value.is_integer() and key != "nik":
        return int(value)
    return value


def _language(text: str) -> dict[str, str]:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) == 2:
        parts = [parts[0], "self", parts[1]]
    if len(parts) != 3:
        raise ValueError(f"'{text}' is not a language entry like 'ja:JLPT:N4'")
    return {"language": parts[0], "test": parts[1], "level": parts[2]}


def _experience(text: str) -> dict[str, Any]:
    return _entry(text, ("occupation", "years", "country"), "penjahit:2:ID")


def _training(text: str) -> dict[str, Any]:
    return _entry(text, ("program_id", "hours", "completed"), "T-07:200:2025-06-30")


def _entry(text: str, keys: tuple[str, ...], example: str) -> dict[str, Any]:
    """'a:b:c' -> {keys[0]: 'a', ...}; empty parts are left out."""
    parts = [p.strip() for p in text.split(":")]
    if not 1 <= len(parts) <= len(keys):
        raise ValueError(f"'{text}' is not an entry like '{example}'")
    return {k: v for k, v in zip(keys, parts) if v}
