"""Import a data-contract file: validate every row, then write all of it in one transaction or nothing.

Re-running the same file changes nothing (upserts keyed by id and content hash). With
``skip_invalid`` the valid rows are written and the rejects go to a CSV file beside the input.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sepadan.contract import KINDS, MODELS, PERSONAL_FIELDS, WorkerIn
from sepadan.errors import InvalidInput, RowError, SepadanError
from sepadan.faults import point
from sepadan.ingest.readers import read_rows
from sepadan.store.db import Store, StoredRow, UpsertCounts, content_hash
from sepadan.store.pii import Vault

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ImportReport:
    kind: str
    file: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int = 0
    rejects_file: str | None = None


def import_file(store: Store, vault: Vault, kind: str, path: Path, *, skip_invalid: bool = False,
                rejects_path: Path | None = None, progress: Progress | None = None,
                today: date | None = None) -> ImportReport:
    """Validate and write one file; raise InvalidInput (writing nothing) if any row is invalid.
    ``today`` is the day birth dates are checked against (default: the system date)."""
    if kind not in KINDS:
        raise SepadanError(f"unknown kind '{kind}' (use one of: {', '.join(KINDS)})")
    models, errors = validate_file(kind, path, progress=progress, today=today)
    errors += _reference_errors(store, kind, path.name, models)
    bad_rows = {e.row for e in errors}
    if errors and not skip_invalid:
        raise InvalidInput(errors)
    good = [m for number, m in models if number not in bad_rows]
    counts = store.upsert(kind, [to_stored(kind, m, vault) for m in good])
    point("import.after_commit")
    rejects = _write_rejects(errors, rejects_path or _default_rejects(path)) if errors else None
    report = _report(kind, path, len(models) + len(bad_rows - {n for n, _ in models}), counts,
                     len(bad_rows), rejects)
    log.info("imported %s from %s: %s", kind, path.name, report)
    return report


def validate_file(kind: str, path: Path, *, progress: Progress | None = None, today: date | None = None
                  ) -> tuple[list[tuple[int, BaseModel]], list[RowError]]:
    """Every row validated: (row number, model) for the good ones and RowErrors for the rest."""
    raw = list(read_rows(path, kind=kind))
    if not raw:
        raise InvalidInput([RowError(path.name, 1, "(file)", _why_no_rows(path))])
    models: list[tuple[int, BaseModel]] = []
    errors: list[RowError] = []
    first_seen: dict[str, int] = {}
    context = {"today": today or date.today()}
    for done, (number, data) in enumerate(raw, start=1):
        if isinstance(data, RowError):
            errors.append(data)
        else:
            model, row_errors = _validate(MODELS[kind], path.name, number, data, context)
            errors += row_errors or _duplicate(model, first_seen, path.name, number)
            if model is not None and not row_errors:
                models.append((number, model))
        if progress and (done % 500 == 0 or done == len(raw)):
            progress(done, len(raw))
    return models, errors


def _why_no_rows(path: Path) -> str:
    with path.open("rb") as handle:
        start = handle.read(4096).removeprefix(b"\xef\xbb\xbf")
    return "the file is empty" if not start.strip() else "no data rows (only a header, or blank lines)"


def _validate(model_cls: type[BaseModel], file: str, number: int, data: dict[str, Any],
              context: dict[str, Any]) -> tuple[BaseModel | None, list[RowError]]:
    try:
        return model_cls.model_validate(data, context=context), []
    except ValidationError as exc:
        return None, [RowError(file, number, _loc(e["loc"]), _message(e)) for e in exc.errors()]


def _duplicate(model: BaseModel | None, seen: dict[str, int], file: str, number: int) -> list[RowError]:
    if model is None:
        return []
    key = model.id  # type: ignore[attr-defined]
    if key in seen:
        return [RowError(file, number, "id", f"duplicate of row {seen[key]}")]
    seen[key] = number
    return []


def _reference_errors(store: Store, kind: str, file: str, models: list[tuple[int, BaseModel]]
                      ) -> list[RowError]:
    if kind != "outcomes" or not models:
        return []
    workers, vacancies = store.ids("workers"), store.ids("vacancies")
    errors = []
    for number, m in models:
        if m.worker_id not in workers:  # type: ignore[attr-defined]
            errors.append(RowError(file, number, "worker_id", f"'{m.worker_id}' is not in the store"))  # type: ignore[attr-defined]
        if m.vacancy_id not in vacancies:  # type: ignore[attr-defined]
            errors.append(RowError(file, number, "vacancy_id", f"'{m.vacancy_id}' is not in the store"))  # type: ignore[attr-defined]
    return errors


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(row)"


def _message(error: dict[str, Any]) -> str:
    """The problem in words; a personal field's value is never echoed (errors reach screens and files)."""
    msg = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if error["type"] == "missing":
        return "is required"
    personal = bool(error["loc"]) and error["loc"][0] in PERSONAL_FIELDS
    if not personal and isinstance(value, (str, int, float)) and str(value) not in msg and len(str(value)) <= 60:
        return f"{msg} (got '{value}')"
    return msg


def to_stored(kind: str, model: BaseModel, vault: Vault) -> StoredRow:
    """The row as stored: personal fields sealed, indexed columns pulled out."""
    if isinstance(model, WorkerIn):
        return _worker_row(model, vault)
    doc = model.model_dump(mode="json")
    return StoredRow(model.id, doc, _COLUMNS[kind](model), content_hash(doc))  # type: ignore[attr-defined]


def _worker_row(model: WorkerIn, vault: Vault) -> StoredRow:
    doc = model.model_dump(mode="json", exclude=set(PERSONAL_FIELDS))
    nik_mac = vault.nik_hmac(model.nik) if model.nik else None
    pii = {"nik": model.nik, "name": model.name}
    columns = {"nik_hmac": nik_mac, "pii_enc": vault.seal(pii), "birth_date": model.birth_date,
               "gender": model.gender, "region": model.region, "available": model.available}
    keyed = json.dumps({"doc": doc, "pii": pii, "birth": str(model.birth_date)}, sort_keys=True)
    digest = hmac.new(vault.nik_hmac("content").encode(), keyed.encode(), hashlib.sha256).hexdigest()
    return StoredRow(model.id, doc, columns, digest)


_COLUMNS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "vacancies": lambda m: {"country": m.country, "region": m.region, "agency_licence": m.agency_licence,
                            "open": m.open, "deadline": m.deadline},
    "trainings": lambda m: {"region": m.region},
    "agencies": lambda m: {"status": m.status, "valid_until": m.valid_until},
    "outcomes": lambda m: {"worker_id": m.worker_id, "vacancy_id": m.vacancy_id, "stage": m.stage,
                           "date": m.date},
}


def _default_rejects(path: Path) -> Path:
    return path.with_name(path.stem + ".rejects.csv")


def _write_rejects(errors: list[RowError], path: Path) -> str:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "field", "message"])
        for e in sorted(errors, key=lambda e: e.row):
            writer.writerow([e.file, e.row, e.field, e.message])
    return str(path)


def _report(kind: str, path: Path, rows: int, counts: UpsertCounts, rejected: int,
            rejects: str | None) -> ImportReport:
    return ImportReport(kind, str(path), rows, counts.inserted, counts.updated, counts.unchanged,
                        rejected, rejects)


STORED = {"stored": True}  # validation context for rows read back from the store


def load_records(store: Store, kind: str) -> list[Any]:
    """Every stored row of a kind as its frozen record (validated again through the contract)."""
    model_cls = MODELS[kind]
    return [model_cls.model_validate(doc, context=STORED).to_record()  # type: ignore[attr-defined]
            for doc in store.rows(kind)]


def load_record(store: Store, kind: str, id_: str) -> Any | None:
    doc = store.get(kind, id_)
    return MODELS[kind].model_validate(doc, context=STORED).to_record() if doc else None  # type: ignore[attr-defined]
