"""Read JSON Lines, CSV and Excel files into (row number, dict) pairs in the contract's shape.

Row numbers are what a person sees: the line in a JSON Lines file, the spreadsheet row in CSV and
Excel (the header is row 1). CSV and Excel cells are strings or numbers; this module turns the
flat form (``documents.passport``, ``a;b``, ``ja:JLPT:N4``) back into the nested one. It never
guesses at a NIK: a CSV cell stays text, an Excel number stays a number so validation can refuse it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sepadan.errors import FileTooLarge, RowError, SepadanError, UnreadableFile

MAX_LINE_BYTES = 1_000_000  # one JSON Lines line or one CSV line
MAX_CELL_CHARS = 100_000  # one CSV cell
XLSX_MAX_EXPANDED = 256 * 2**20  # every member of a workbook together, uncompressed
XLSX_MAX_RATIO = 200  # uncompressed / compressed size of a member over 1 MB (sheets compress ~10-30x)
XLSX_MAX_MEMBERS = 10_000
_CHUNK = 2**20

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


class _BadLine(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


def _lines(path: Path) -> Iterator[tuple[int, str | RowError]]:
    """(line number, text) per line, read in bounded pieces: a line over MAX_LINE_BYTES or one that
    is not UTF-8 (a BOM is dropped, CRLF is fine) becomes a RowError naming the line."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES:
                _skip_line(handle)
                yield number, RowError(path.name, number, "(line)", f"longer than {MAX_LINE_BYTES:,} bytes")
                continue
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, RowError(path.name, number, "(line)",
                                       f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at position {exc.start + 1});"
                                       " save the file as UTF-8 ('CSV UTF-8' in Excel)")


def _skip_line(handle: IO[bytes]) -> None:
    while (piece := handle.readline(_CHUNK)) and not piece.endswith(b"\n"):
        pass


def _text_only(lines: Iterator[tuple[int, str | RowError]]) -> Iterator[str]:
    for _, line in lines:
        if isinstance(line, RowError):
            raise _BadLine(line)
        yield line


def _jsonl(path: Path) -> Iterator[Row]:
    for number, line in _lines(path):
        if isinstance(line, RowError):
            yield number, line
        elif line.strip():
            yield number, _json_object(path.name, number, line)


def _json_object(file: str, number: int, line: str) -> dict[str, Any] | RowError:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return RowError(file, number, "(line)", f"not valid JSON: {exc.msg}")
    if not isinstance(value, dict):
        return RowError(file, number, "(line)", "each line must be a JSON object")
    return value


def _csv(path: Path, *, delimiter: str) -> Iterator[Row]:
    csv.field_size_limit(MAX_CELL_CHARS)
    try:
        yield from _csv_rows(path, delimiter=delimiter)
    except _BadLine as bad:
        yield bad.error.row, bad.error


def _csv_rows(path: Path, *, delimiter: str) -> Iterator[Row]:
    reader = csv.reader(_text_only(_lines(path)), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        yield 1, RowError(path.name, 1, "(header)", f"not valid CSV: {exc}")
        return
    if header is None:
        return
    header = [h.strip() for h in header]
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a quote opened and never closed, a cell past the limit: the rest is unreadable
            yield number + 1, RowError(path.name, number + 1, "(row)", f"not valid CSV: {exc}")
            return
        number += 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield number, RowError(path.name, number, "(row)", f"{len(cells)} cells but {len(header)} columns")
            continue
        yield number, _nest(path.name, number, dict(zip(header, cells)))


def check_workbook(path: Path) -> None:
    """Refuse a workbook that is not a zip, or expands past the limits (a zip bomb), before any
    parser sees it: the declared sizes and ratios first, then the bytes really inflated."""
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFile(f"{path.name}: not an Excel .xlsx workbook ({exc})") from exc
    with book:
        members = book.infolist()
        if len(members) > XLSX_MAX_MEMBERS:
            raise FileTooLarge(f"{path.name}: {len(members):,} parts in the workbook, more than {XLSX_MAX_MEMBERS:,}")
        declared = sum(m.file_size for m in members)
        if declared > XLSX_MAX_EXPANDED:
            raise FileTooLarge(f"{path.name}: expands to {declared / 2**20:,.0f} MB, more than the "
                               f"{XLSX_MAX_EXPANDED // 2**20} MB a workbook may hold; split it or use CSV")
        for m in members:
            if m.file_size > _CHUNK and m.file_size > XLSX_MAX_RATIO * max(1, m.compress_size):
                raise FileTooLarge(f"{path.name}: part '{m.filename}' expands {m.file_size // max(1, m.compress_size):,}"
                                   f" times (more than {XLSX_MAX_RATIO}): refused as a possible zip bomb")
        _inflate_bounded(path, book, members)


def _inflate_bounded(path: Path, book: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> None:
    total = 0
    try:
        for m in members:
            with book.open(m) as part:
                while piece := part.read(_CHUNK):
                    total += len(piece)
                    if total > XLSX_MAX_EXPANDED:
                        raise FileTooLarge(f"{path.name}: expands past {XLSX_MAX_EXPANDED // 2**20} MB; "
                                           "split it or use CSV")
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise UnreadableFile(f"{path.name}: a damaged Excel workbook ({exc})") from exc


def _excel(path: Path, *, kind: str) -> Iterator[Row]:
    from openpyxl import load_workbook

    check_workbook(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - whatever openpyxl raises on bytes that are not a workbook
        raise UnreadableFile(f"{path.name}: not a readable Excel workbook ({type(exc).__name__})") from exc
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
