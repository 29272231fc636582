"""Workers, vacancies, trainings, agencies and outcomes: create, update, get, delete, list, bulk upload.

Writes go through the contract models (the same validation as a file import), are all or nothing,
and are searchable as soon as the response is sent. Workers are scoped to a key's regions and
outcomes to its regions and agency; out of scope answers 404, as if the record did not exist.
"""


import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, File, Path as PathParam, Query, Request, UploadFile
from pydantic import BaseModel
from starlette.responses import Response

from sepadan.api.deps import EngineDep
from sepadan.api.problems import ProblemError, responses
from sepadan.api.schemas import BODIES, OUTS, Page, WorkerExport, Written
from sepadan.api.security import KeyDep
from sepadan.contract import MODELS
from sepadan.engine import Engine
from sepadan.errors import SepadanError
from sepadan.ingest.readers import read_rows
from sepadan.store.keys import ApiKey, audit, audit_trail

router = APIRouter(prefix="/v1")
SINGULAR = {"workers": "worker", "vacancies": "vacancy", "trainings": "training", "agencies": "agency",
            "outcomes": "outcome"}
IdPath = Annotated[str, PathParam(min_length=1, max_length=200)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=200, description="page size, at most 200")]
UPLOAD_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".xlsx")
COMMON = (401, 403, 429, 503)


def orjson_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


# -- scoping --------------------------------------------------------------------------------------

def visible(engine: Engine, key: ApiKey, kind: str, doc: dict[str, Any]) -> bool:
    """Whether a key may see a stored record (else it is answered as not found)."""
    if kind == "workers":
        return key.sees_region(doc.get("region"))
    if kind == "outcomes":
        worker = engine.store.get("workers", doc["worker_id"])
        vacancy = engine.store.get("vacancies", doc["vacancy_id"])
        return (worker is not None and key.sees_region(worker.get("region"))
                and (key.agency is None or (vacancy or {}).get("agency_licence") == key.agency))
    return True


def may_write(engine: Engine, key: ApiKey, kind: str, model: Any) -> str | None:
    """Why a key may not write this record (a 422 reason), or None."""
    if kind == "workers" and not key.sees_region(model.region):
        return "region: outside the regions of this key"
    if kind == "vacancies" and (key.role != "admin" or key.agency) and model.agency_licence != key.agency:
        return "agency_licence: not the agency of this key"
    if kind == "outcomes":
        worker = engine.store.get("workers", model.worker_id)
        vacancy = engine.store.get("vacancies", model.vacancy_id)
        if worker is None or not key.sees_region(worker.get("region")):
            return f"worker_id: '{model.worker_id}' is not in the store"
        if vacancy is None or (key.agency is not None and vacancy.get("agency_licence") != key.agency):
            return f"vacancy_id: '{model.vacancy_id}' is not in the store"
    return None


def owns(key: ApiKey, kind: str, doc: dict[str, Any]) -> bool:
    """Whether a key may change a stored record: a job order belongs to its agency (one without an
    agency to the manpower office's keys without one); an admin key without an agency may change any."""
    if kind != "vacancies" or (key.role == "admin" and key.agency is None):
        return True
    return doc.get("agency_licence") == key.agency


def stored_or_404(engine: Engine, key: ApiKey, kind: str, id_: str) -> dict[str, Any]:
    doc = engine.store.get(kind, id_)
    if doc is None or not visible(engine, key, kind, doc):
        raise ProblemError(404, f"{SINGULAR[kind]} '{id_}' not found")
    return doc


def with_personal(engine: Engine, doc: dict[str, Any]) -> dict[str, Any]:
    """A worker as staff see it: the stored document plus name, masked NIK and birth date."""
    personal = engine.personal.of(doc["id"])
    nik = personal.get("nik")
    return {**doc, "personal": {"name": personal.get("name"), "nik_masked": mask_nik(nik),
                                "birth_date": personal.get("birth_date")}}


def mask_nik(nik: str | None) -> str | None:
    return None if not nik else "*" * (len(nik) - 4) + nik[-4:]


def present(engine: Engine, kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in doc.items() if k != "birth_date"} if kind == "workers" else doc
    return with_personal(engine, doc) if kind == "workers" else doc


# -- the routes, made once per kind -----------------------------------------------------------------

def _routes(kind: str) -> None:
    one, body_cls, out_cls = SINGULAR[kind], BODIES[kind], OUTS[kind]
    tag = kind

    def list_(key: KeyDep, engine: EngineDep, offset: Offset = 0, limit: Limit = 50) -> Response:
        items, total = engine.store.page(kind, offset=offset, limit=limit,
                                         regions=key.regions if kind in ("workers", "outcomes") else (),
                                         agency=key.agency if kind == "outcomes" else None)
        if kind == "workers":
            audit(engine.store, key.id, "read", kind, [d["id"] for d in items], "list_workers")
        return orjson_response({"items": [present(engine, kind, d) for d in items], "total": total,
                                "offset": offset, "limit": limit})

    def get(id: IdPath, key: KeyDep, engine: EngineDep) -> Response:
        doc = stored_or_404(engine, key, kind, id)
        if kind == "workers":
            audit(engine.store, key.id, "read", kind, [id], f"get_{one}")
        return orjson_response(present(engine, kind, doc))

    def write(models: list[BaseModel], key: ApiKey, engine: Engine, *, action: str, status: int,
              route: str) -> Response:
        for m in models:
            reason = may_write(engine, key, kind, m)
            if reason:
                field, _, message = reason.partition(": ")
                raise ProblemError(422, "nothing was written", errors=[{"field": f"body.{field}", "message": message}])
        records = [MODELS[kind].model_validate(m.model_dump()) for m in models]
        counts = engine.live.write(kind, records)
        ids = [m.id for m in models]  # type: ignore[attr-defined]
        if kind == "workers":
            audit(engine.store, key.id, action, kind, ids, route)
        return orjson_response({"kind": kind, "rows": len(models), "inserted": counts.inserted,
                                "updated": counts.updated, "unchanged": counts.unchanged, "ids": ids[:100]}, status)

    def create(body: body_cls, key: KeyDep, engine: EngineDep) -> Response:  # type: ignore[valid-type]
        if engine.store.get(kind, body.id) is not None:  # type: ignore[attr-defined]
            raise ProblemError(409, f"{one} '{body.id}' exists; use PUT to change it")  # type: ignore[attr-defined]
        return write([body], key, engine, action="create", status=201, route=f"create_{one}")

    def put(id: IdPath, body: body_cls, key: KeyDep, engine: EngineDep) -> Response:  # type: ignore[valid-type]
        if body.id != id:  # type: ignore[attr-defined]
            raise ProblemError(422, "the body's id differs from the path's",
                               errors=[{"field": "body.id", "message": "must equal the id in the path"}])
        existing = engine.store.get(kind, id)
        if existing is not None and not (visible(engine, key, kind, existing) and owns(key, kind, existing)):
            raise ProblemError(404, f"{one} '{id}' not found")
        return write([body], key, engine, action="update" if existing else "create", status=200,
                     route=f"put_{one}")

    def delete(id: IdPath, key: KeyDep, engine: EngineDep) -> Response:
        if not owns(key, kind, stored_or_404(engine, key, kind, id)):
            raise ProblemError(404, f"{one} '{id}' not found")
        engine.live.delete(kind, id, by=key.id, route=f"delete_{one}")  # audits an erasure
        return Response(status_code=204)

    async def bulk(request: Request, key: KeyDep, engine: EngineDep,
                   file: Annotated[UploadFile, File(description="JSON Lines, CSV or Excel in the data contract")]
                   ) -> Response:
        name = Path(file.filename or "upload").name
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            raise ProblemError(415, f"'{name}' is not .jsonl, .csv or .xlsx")
        from starlette.concurrency import run_in_threadpool

        with tempfile.TemporaryDirectory(prefix="sepadan-upload-") as folder:
            path = Path(folder) / name
            with path.open("wb") as handle:
                while chunk := await file.read(1 << 20):
                    handle.write(chunk)
            os.chmod(path, 0o600)
            await run_in_threadpool(_readable, path, kind)
            report = await run_in_threadpool(engine.live.import_file, kind, path)
        return orjson_response({"kind": kind, "rows": report.rows, "inserted": report.inserted,
                                "updated": report.updated, "unchanged": report.unchanged, "ids": []})

    plural = kind
    item = f"/{plural}/{{id:path}}" if kind == "agencies" else f"/{plural}/{{id}}"  # licences hold slashes
    router.add_api_route(f"/{plural}", list_, methods=["GET"], name=f"list_{plural}", tags=[tag],
                         response_model=Page, summary=f"List {plural}, a page at a time",
                         responses=responses(*COMMON, 422))
    router.add_api_route(f"/{plural}", create, methods=["POST"], name=f"create_{one}", tags=[tag], status_code=201,
                         response_model=Written, summary=f"Create a {one}",
                         responses=responses(*COMMON, 400, 409, 413, 422))
    router.add_api_route(f"/{plural}/bulk", bulk, methods=["POST"], name=f"bulk_{plural}", tags=[tag],
                         response_model=Written, summary=f"Upload a file of {plural} (all or nothing)",
                         responses=responses(*COMMON, 400, 413, 415, 422), openapi_extra=_upload_doc(kind))
    router.add_api_route(item, get, methods=["GET"], name=f"get_{one}", tags=[tag],
                         response_model=out_cls, summary=f"Get a {one}", responses=responses(*COMMON, 404, 422))
    router.add_api_route(item, put, methods=["PUT"], name=f"put_{one}", tags=[tag],
                         response_model=Written, summary=f"Create or replace a {one}",
                         responses=responses(*COMMON, 400, 404, 413, 422))
    router.add_api_route(item, delete, methods=["DELETE"], name=f"delete_{one}", tags=[tag],
                         status_code=204, response_class=Response,
                         summary=f"Delete a {one}" + (" (erasure: store, index and caches)" if kind == "workers" else ""),
                         responses=responses(*COMMON, 404, 422))


def _readable(path: Path, kind: str) -> None:
    """422 for an upload the readers cannot parse (not UTF-8, a broken workbook): the file's fault,
    not the server's; read once before the import, which writes nothing unless every row is valid."""
    try:
        for _ in read_rows(path, kind=kind):
            pass
    except SepadanError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a reader raises on the bytes it was given
        raise ProblemError(422, f"'{path.name}' could not be read as {path.suffix} ({type(exc).__name__})",
                           errors=[{"field": "body.file", "message": "not a readable file of this type"}]) from exc


def _upload_doc(kind: str) -> dict[str, Any]:
    """The file part of an upload in the schema: its file name (the suffix picks the reader) and an example."""
    example = BODIES[kind].model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
    disposition = f'form-data; name="file"; filename="{kind}.jsonl"'
    return {"requestBody": {"content": {"multipart/form-data": {
        "encoding": {"file": {"headers": {"Content-Disposition": {
            "description": f"the file name must end {', '.join(UPLOAD_SUFFIXES)}", "schema": {"type": "string"},
            "example": disposition}}}},
        "example": {"file": orjson.dumps(example).decode() + "\n"}}}}}


for _kind in SINGULAR:
    _routes(_kind)


@router.get("/workers/{id}/export", name="export_worker", tags=["workers"], response_model=WorkerExport,
            responses=responses(*COMMON, 404, 422),
            summary="Everything stored on a worker: the record, personal fields, outcomes, audit trail, index")
def export_worker(id: IdPath, key: KeyDep, engine: EngineDep) -> Response:
    doc = stored_or_404(engine, key, "workers", id)
    audit(engine.store, key.id, "export", "workers", [id], "export_worker")
    outcomes, _ = engine.store.page("outcomes", offset=0, limit=100_000, agency=key.agency, worker_id=id)
    trail = [{"at": e.at.isoformat(), "key_id": e.key_id, "action": e.action, "route": e.route}
             for e in audit_trail(engine.store, "workers", id)]
    raw = engine.store.raw("workers", id) or {}
    matcher = engine.__dict__.get("matcher")
    in_index = matcher is not None and id in matcher.workers.positions
    return orjson_response({
        "worker": present(engine, "workers", doc), "outcomes": outcomes, "audit": trail,
        "stored": {"nik": "kept encrypted with a keyed HMAC for lookups; shown masked",
                   "updated_at": raw["updated_at"].isoformat() if raw.get("updated_at") else None},
        "index": {"workers": in_index}})
