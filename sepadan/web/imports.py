"""Web pages for imports: upload a file of one kind, per-row errors, nothing written on any error, Excel templates.

An upload runs the API's own bulk route (``POST /v1/{kind}/bulk``, :mod:`sepadan.api.routes_records`)
in process: the same suffix check, the same readability check, the same all-or-nothing
``engine.live.import_file``, the same body limit (the path ends in ``/bulk``) and the same refusal of
zip bombs. Row errors are shown as a table (file, row, field, message) with every value the row
submitted masked out of the messages (:func:`redact`): a NIK typed into the wrong column must not
come back on a screen. On the Indonesian page the messages are then put in Indonesian by the table
in :mod:`sepadan.web.messages_id` (one it lacks stays English, counted and logged without values).
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sepadan.api import routes_records
from sepadan.api.deps import EngineDep
from sepadan.api.problems import ProblemError
from sepadan.engine import Engine
from sepadan.errors import FileTooLarge, InvalidInput, RowError, SepadanError, UnreadableFile
from sepadan.ingest.readers import read_rows
from sepadan.ingest.xlsx_template import template_xlsx
from sepadan.web import i18n
from sepadan.web.deps import CsrfForm, LangDep, PageError, User, UserDep, render, require
from sepadan.web.messages_id import localise

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
KINDS = ("agencies", "trainings", "workers", "vacancies", "outcomes")  # the order a new home imports them in
SHOWN_ERRORS = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# examples the readers quote in their own messages: kept; any other quoted text of an unread row is masked
READER_HINTS = frozenset({"ja:JLPT:N4", "penjahit:2:ID", "T-07:200:2025-06-30", "CSV UTF-8"})
_QUOTED = re.compile(r"'([^']*)'")
_GOT = re.compile(r"\s*\(got '.*'\)$")
_DIGITS = re.compile(r"\d{16,}")

i18n.extend({
    "import.title": ("Impor data", "Import data"),
    "import.intro": ("Unggah berkas CSV, Excel (.xlsx) atau JSON Lines sesuai kontrak data. Semua baris "
                     "diperiksa dulu: bila satu baris salah, tidak ada yang disimpan.",
                     "Upload a CSV, Excel (.xlsx) or JSON Lines file in the data contract. Every row is "
                     "checked first: if one row is wrong, nothing is written."),
    "import.order": ("Urutan untuk data baru: agensi, pelatihan, pekerja, job order, hasil penempatan.",
                     "Order for new data: agencies, trainings, workers, job orders, outcomes."),
    "import.max": ("Ukuran berkas paling besar {mb} MB.", "Largest file: {mb} MB."),
    "import.kind.agencies": ("Agensi (P3MI)", "Agencies (P3MI)"),
    "import.kind.trainings": ("Pelatihan", "Trainings"),
    "import.kind.workers": ("Pekerja", "Workers"),
    "import.kind.vacancies": ("Job order / lowongan", "Job orders / vacancies"),
    "import.kind.outcomes": ("Hasil penempatan", "Outcomes"),
    "import.stored": ("{n} tersimpan", "{n} stored"),
    "import.file": ("Berkas", "File"),
    "import.upload": ("Unggah dan impor", "Upload and import"),
    "import.template": ("Unduh templat Excel", "Download the Excel template"),
    "import.template_help": ("Kolom NIK, kode dan ID berformat Teks; baris 2 adalah contoh.",
                             "NIK, code and id columns are formatted as Text; row 2 is an example."),
    "import.done": ("{kind}: {rows} baris diimpor ({inserted} baru, {updated} diubah, {unchanged} sama).",
                    "{kind}: {rows} rows imported ({inserted} new, {updated} updated, {unchanged} unchanged)."),
    "import.failed": ("Tidak ada yang disimpan: {n} kesalahan di {file}.",
                      "Nothing was written: {n} errors in {file}."),
    "import.more": ("{n} kesalahan pertama ditampilkan.", "The first {n} errors are shown."),
    "import.refused": ("Berkas ditolak; tidak ada yang disimpan.", "The file was refused; nothing was written."),
    "import.no_file": ("Pilih berkas terlebih dahulu.", "Choose a file first."),
    "import.too_large": ("Berkas ditolak karena lebih besar dari batas {mb} MB; tidak ada yang disimpan. "
                         "Pecah berkas menjadi beberapa bagian dan unggah satu per satu.",
                         "The file was refused: it is larger than the {mb} MB limit; nothing was written. "
                         "Split it into parts and upload them one by one."),
    "import.row": ("Baris", "Row"), "import.field": ("Kolom", "Field"), "import.message": ("Masalah", "Problem"),
})


def require_bulk(kind: str, user: UserDep) -> User:
    """The signed-in user, if the API lets their role upload ``kind`` (``bulk_workers``, ...)."""
    if kind not in KINDS:
        raise PageError(404, "not_found")
    if not user.may(f"bulk_{kind}"):
        raise PageError(403, "forbidden")
    return user


BulkUser = Annotated[User, Depends(require_bulk)]


@router.get("/import", name="web_import", response_class=HTMLResponse)
def page(request: Request, user: Annotated[User, Depends(require("bulk_workers"))], engine: EngineDep,
         kind: Annotated[str | None, Query(max_length=16)] = None,
         rows: Annotated[int | None, Query(ge=0)] = None, inserted: Annotated[int, Query(ge=0)] = 0,
         updated: Annotated[int, Query(ge=0)] = 0, unchanged: Annotated[int, Query(ge=0)] = 0,
         too_large: Annotated[int | None, Query(ge=1)] = None) -> Response:
    done = ({"kind": kind, "rows": rows, "inserted": inserted, "updated": updated, "unchanged": unchanged}
            if kind in KINDS and rows is not None else None)
    # too_large: the API's body limit sent an oversize upload back here (sepadan/api/middleware.py)
    return _page(request, user, engine, done=done, too_large=_mb(too_large) if too_large else None)


def _page(request: Request, user: User, engine: Engine, *, status: int = 200, **context: Any) -> HTMLResponse:
    kinds = [k for k in KINDS if user.may(f"bulk_{k}")]
    counts = {k: engine.store.count(k) for k in kinds}
    base = {"kinds": kinds, "counts": counts, "max_mb": _mb(engine.settings.api_upload_max_bytes),
            "done": None, "failed": None, "refused": None, "too_large": None}
    return render(request, "import.html", base | context, user=user, status=status)


@router.post("/import/{kind}/bulk", name="web_import_upload")
async def upload(request: Request, kind: str, form: CsrfForm, user: BulkUser, engine: EngineDep,
                 lang: LangDep) -> Response:
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _page(request, user, engine, status=422, refused={"kind": kind, "message": None})
    try:
        answer = await _api_bulk(kind)(request, user.key, engine, file)
    except InvalidInput as exc:
        errors = await _redacted(exc.errors, file, kind, lang)
        log.info("web import of %s refused: %d row errors, nothing written", kind, len(exc.errors))
        return _page(request, user, engine, status=422, failed={
            "kind": kind, "file": Path(file.filename).name, "total": len(exc.errors),
            "errors": errors[:SHOWN_ERRORS]})
    except (FileTooLarge, UnreadableFile, ProblemError, SepadanError) as exc:
        status = _status(exc)
        log.info("web import of %s refused (%d)", kind, status)
        return _page(request, user, engine, status=status,
                     refused={"kind": kind, "message": _file_message(exc, lang)})
    body = orjson.loads(answer.body)
    log.info("web import of %s: %d rows by key %s", kind, body["rows"], user.key.id)
    query = "&".join(f"{k}={body[k]}" for k in ("rows", "inserted", "updated", "unchanged"))
    return RedirectResponse(f"/import?kind={kind}&{query}", status_code=303)


def _mb(size: int) -> str:
    return f"{size / 1e6:.3g}"


def _api_bulk(kind: str) -> Any:
    """The API's bulk route function for ``kind`` (one per kind, made in routes_records)."""
    return next(r.endpoint for r in routes_records.router.routes if getattr(r, "name", None) == f"bulk_{kind}")


def _status(exc: Exception) -> int:
    if isinstance(exc, FileTooLarge):
        return 413
    if isinstance(exc, UnreadableFile):
        return 422
    return exc.status if isinstance(exc, ProblemError) else 400


def _detail(exc: Exception) -> str:
    return exc.detail if isinstance(exc, ProblemError) else str(exc)


def _file_message(exc: Exception, lang: str) -> str:
    """Why the file was refused (about the file, not its rows: nothing of a row to mask), in ``lang``."""
    return localise([redact(_detail(exc), values=())], lang, where="web import refusal")[0]


@router.get("/import/{kind}/template.xlsx", name="web_import_template")
def template(kind: str, user: BulkUser) -> Response:
    return Response(template_xlsx(kind), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="sepadan-{kind}-template.xlsx"', "Cache-Control": "no-store"})


# -- row errors without the values that were sent ----------------------------------------------------

def redact(message: str, values: Iterable[str] | None) -> str:
    """``message`` without any submitted value: the importer's ``(got '...')`` is dropped, each quoted
    value the row sent is masked (``values``; None when the row could not be read: then every quoted
    text but the readers' own examples), and so is any run of 16 or more digits (a NIK's shape)."""
    text = _GOT.sub("", message)
    if values is None:
        text = _QUOTED.sub(lambda m: m.group(0) if m.group(1) in READER_HINTS else "'…'", text)
    else:
        for value in sorted({v.strip() for v in values if v.strip()}, key=len, reverse=True):
            text = re.sub(re.escape(f"'{value}'"), "'…'", text, flags=re.IGNORECASE)
    return _DIGITS.sub("…", text)


async def _redacted(errors: list[RowError], file: UploadFile, kind: str, lang: str) -> list[dict[str, Any]]:
    """The errors as table rows, each message without the values its row submitted (the upload is
    read once more, from the request's own copy, only when there are errors), in ``lang``."""
    shown = sorted(errors, key=lambda e: e.row)[:SHOWN_ERRORS]
    wanted = {e.row for e in shown}
    values = await _row_values(file, kind, wanted)
    messages = localise([redact(e.message, values.get(e.row)) for e in shown], lang, where=f"web import of {kind}")
    return [{"file": e.file, "row": e.row, "field": e.field, "message": m} for e, m in zip(shown, messages)]


async def _row_values(file: UploadFile, kind: str, rows: set[int]) -> dict[int, list[str]]:
    await file.seek(0)
    with tempfile.TemporaryDirectory(prefix="sepadan-errors-") as folder:
        path = Path(folder) / Path(file.filename or "upload").name
        with path.open("wb") as handle:
            while chunk := await file.read(1 << 20):
                handle.write(chunk)
        path.chmod(0o600)
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_values_of, path, kind, rows)


def _values_of(path: Path, kind: str, rows: set[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    try:
        for number, data in read_rows(path, kind=kind):
            if number in rows and not isinstance(data, RowError):
                out[number] = list(_leaves(data))
    except Exception:  # noqa: BLE001 - unreadable here means masked everywhere (values None)
        log.info("could not read the upload again to mask its values")
    return out


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif value is not None:
        yield str(value)
