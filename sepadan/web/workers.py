"""Worker pages: the list (the key's regions only) and one worker: profile with the NIK masked,
documents, recommendations overseas and at home (licensed agencies only), and gaps with the
courses that close them. Scoped and audited as the API's worker routes; out of scope is 404."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse, Response

from sepadan.api import routes_matching
from sepadan.api.deps import EngineDep
from sepadan.api.problems import ProblemError
from sepadan.api.routes_records import present, stored_or_404
from sepadan.engine import Engine
from sepadan.matching.messages import DOCS
from sepadan.store.keys import audit
from sepadan.web.deps import LangDep, PageError, User, render, require

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/workers", name="web_workers", response_class=HTMLResponse)
def workers(request: Request, user: Annotated[User, Depends(require("list_workers"))], engine: EngineDep,
            offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    items, total = engine.store.page("workers", offset=offset, limit=PAGE, regions=user.key.regions)
    audit(engine.store, user.key.id, "read", "workers", [d["id"] for d in items], "web_workers")
    rows = [present(engine, "workers", d) for d in items]
    return render(request, "workers.html", {"rows": rows, "total": total, "offset": offset, "limit": PAGE},
                  user=user)


@router.get("/workers/{id}", name="web_worker", response_class=HTMLResponse)
def worker(request: Request, id: str, user: Annotated[User, Depends(require("get_worker"))], engine: EngineDep,
           lang: LangDep) -> Response:
    try:
        doc = present(engine, "workers", stored_or_404(engine, user.key, "workers", id))
    except ProblemError as exc:
        raise PageError(404, "not_found") from exc
    audit(engine.store, user.key.id, "read", "workers", [id], "web_worker")
    recs = {scope: _recommend(engine, user, id, scope, lang) for scope in ("overseas", "domestic")} \
        if user.may("recommend_for_worker") else {}
    gaps = engine.worker_gaps(id) if id in engine.matcher.workers.positions else None
    docs = [(DOCS.get(d, (d, d))[0 if lang == "id" else 1], ok) for d, ok in (doc.get("documents") or {}).items()]
    return render(request, "worker.html", {"w": doc, "recs": recs, "gaps": gaps, "docs": docs,
                                           "doc_names": DOCS}, user=user)


def _recommend(engine: Engine, user: User, worker_id: str, scope: str, lang: str) -> dict[str, Any]:
    """The API's recommendations (licensed agencies only: ``include_flagged`` stays off)."""
    try:
        response = routes_matching.recommendations(worker_id, user.key, engine, engine.matcher, scope=scope,
                                                   country=None, k=5, include_flagged=False, lang=lang)  # type: ignore[arg-type]
    except ProblemError:
        return {"results": []}
    return orjson.loads(response.body)
