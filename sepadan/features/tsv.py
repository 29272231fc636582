"""The project's tab-separated data files (lexicon, Indonesian labels, title words), read one way.

A file has a header row that must equal the reader's columns; blank lines and lines starting with
``#`` are skipped; every problem is a ``ValueError`` naming the file, the row and the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def row_error(path: Path, row: int, field_name: str, problem: str) -> ValueError:
    return ValueError(f"{path}: row {row}, field {field_name!r}: {problem}")


def tsv_rows(path: Path, header: tuple[str, ...], *, what: str, required: bool = False
             ) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, {column: stripped value}) for each data row of the ``what`` file at ``path``,
    checking the header and the column count (and, if ``required``, that no value is empty)."""
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} is missing")
    lines = path.read_text(encoding="utf-8").splitlines()
    found = tuple(lines[0].split("\t")) if lines else ()
    if found != header:
        raise row_error(path, 1, "header", f"expected {header}, found {found}")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != len(header):
            raise _column_error(path, number, header, len(cells))
        values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        empty = next((name for name, value in values.items() if not value), None) if required else None
        if empty is not None:
            raise row_error(path, number, empty, "is empty")
        yield number, values


def _column_error(path: Path, row: int, header: tuple[str, ...], count: int) -> ValueError:
    name = header[count] if count < len(header) else f"extra column {count}"
    expected = f"{len(header)} tab-separated fields ({', '.join(header)})"
    return row_error(path, row, name, f"expected {expected}, got {count}")
