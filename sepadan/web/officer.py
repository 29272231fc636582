"""Officer pages: job orders, a job order's shortlist (with the one-course-away candidates), a
side-by-side comparison, exports (Excel, CSV), and outcomes recorded from the page.

Each page asks the same code the API route runs (:mod:`sepadan.api.routes_matching`,
:mod:`sepadan.api.routes_records`): the same policy, the same region and agency scoping, the same
audit; out of scope is "not found", as in the API.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sepadan.api import routes_matching
from sepadan.api.deps import EngineDep
from sepadan.api.problems import ProblemError
from sepadan.api.routes_records import may_write
from sepadan.contract import MODELS
from sepadan.engine import Engine
from sepadan.planning.report import Sheet, write_csv, write_xlsx
from sepadan.web.deps import CsrfForm, LangDep, PageError, User, render, require

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
RECORDED_STAGES = ("shortlisted", "interviewed", "offered", "hired", "rejected")
Region = Annotated[str | None, Query(max_length=16, pattern=r"^(\d{2}(\.\d{2}){0,3})?$")]
Text = Annotated[str | None, Query(max_length=64)]


# -- job orders --------------------------------------------------------------------------------

@router.get("/job-orders", name="web_job_orders", response_class=HTMLResponse)
def job_orders(request: Request, user: Annotated[User, Depends(require("list_vacancies"))], engine: EngineDep,
               country: Text = None, sector: Text = None, agency: Text = None,
               deadline_by: Annotated[dt.date | None, Query()] = None, closed: bool = False) -> Response:
    filters = {"country": country or None, "sector": sector or None, "agency": agency or None,
               "deadline_by": deadline_by}
    rows = engine.job_orders(**filters, open_on=None if closed else engine.matcher.ctx.today)
    everything = engine.job_orders()
    choices = {"countries": sorted({o.vacancy.country for o in everything if o.vacancy.country}),
               "sectors": sorted({o.vacancy.sector for o in everything if o.vacancy.sector}),
               "agencies": sorted({o.vacancy.agency_licence for o in everything if o.vacancy.agency_licence})}
    return render(request, "job_orders.html", {"rows": rows[:300], "total": len(rows), "filters": filters,
                                               "closed": closed, "choices": choices}, user=user)


# -- one job order and its shortlist -------------------------------------------------------------

def shortlist_body(engine: Engine, user: User, vacancy_id: str, *, lang: str, k: int = 30,
                   region: str | None = None, include_ineligible: bool = False) -> dict[str, Any]:
    """The API's shortlist for this key, as the API answers it (scoped, audited, names attached)."""
    try:
        body = routes_matching.shortlist_answer(engine, engine.matcher, user.key, vacancy_id, k=k, region=region,
                                                include_ineligible=include_ineligible, lang=lang)
    except ProblemError as exc:
        raise PageError(exc.status, "not_found" if exc.status == 404 else "error") from exc
    return orjson.loads(orjson.dumps(body))  # as the API sends it (the route itself is async since b09e430)


@router.get("/job-orders/{id}", name="web_job_order", response_class=HTMLResponse)
def job_order(request: Request, id: str, user: Annotated[User, Depends(require("shortlist"))], engine: EngineDep,
              lang: LangDep, region: Region = None, include_ineligible: bool = False,
              k: Annotated[int, Query(ge=1, le=100)] = 20, saved: Annotated[str | None, Query(max_length=200)] = None
              ) -> Response:
    body = shortlist_body(engine, user, id, lang=lang, k=k, region=region or None,
                          include_ineligible=include_ineligible)
    order = next(o for o in engine.job_orders() if o.vacancy.id == id)
    near = engine.one_course_away(id, region=region or None, within=user.key.regions, limit=10)
    outcomes = _outcomes(engine, user, vacancy_id=id)
    return render(request, "job_order.html", {
        "order": order, "body": body, "near": near, "region": region or "", "include_ineligible": include_ineligible,
        "stages": RECORDED_STAGES, "outcomes": outcomes, "saved": saved, "today": engine.matcher.ctx.today,
        "can_record": user.may("create_outcome")}, user=user)


@router.get("/job-orders/{id}/compare", name="web_compare", response_class=HTMLResponse)
def compare(request: Request, id: str, user: Annotated[User, Depends(require("shortlist"))], engine: EngineDep,
            lang: LangDep, w: Annotated[list[str], Query(max_length=4)] = []) -> Response:  # noqa: B006
    picked = list(dict.fromkeys(w))
    if not 2 <= len(picked) <= 4:
        raise PageError(422, "compare.count")
    body = shortlist_body(engine, user, id, lang=lang, k=200, include_ineligible=True)
    by_id = {r["worker_id"]: r for r in body["results"]}
    rows = [by_id[x] for x in picked if x in by_id]
    if len(rows) != len(picked):
        raise PageError(404, "not_found")
    components = sorted({c for r in rows for c in r["components"]})
    return render(request, "compare.html", {"order": engine.describe_vacancy(id) | {"id": id}, "rows": rows,
                                            "components": components}, user=user)


@router.get("/job-orders/{id}/shortlist.{fmt}", name="web_export")
def export(request: Request, id: str, fmt: str, user: Annotated[User, Depends(require("shortlist"))],
           engine: EngineDep, lang: LangDep, region: Region = None, include_ineligible: bool = False,
           k: Annotated[int, Query(ge=1, le=200)] = 30) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise PageError(404, "not_found")
    body = shortlist_body(engine, user, id, lang=lang, k=k, region=region or None,
                          include_ineligible=include_ineligible)
    sheet = shortlist_sheet(body)
    with tempfile.TemporaryDirectory(prefix="sepadan-export-") as folder:
        path = Path(folder) / f"shortlist-{id}.{fmt}"
        (write_csv(path, [sheet], main="shortlist") if fmt == "csv" else write_xlsx(path, [sheet]))
        data = path.read_bytes()
    media = "text/csv; charset=utf-8" if fmt == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="shortlist-{_safe(id)}.{fmt}"', "Cache-Control": "no-store"})


def shortlist_sheet(body: dict[str, Any]) -> Sheet:
    """The shortlist as one table: the columns of ``sepadan shortlist --csv`` plus the name."""
    results = body["results"]
    comps = sorted({c for r in results for c in r["components"]})
    rows = tuple((r["rank"], r["worker_id"], _cell(r.get("name")), r.get("region"), r["score"],
                  *(r["components"].get(c, "") for c in comps), r.get("eligible", True),
                  _cell(" | ".join(r["reasons"])), _cell(" | ".join(r["gaps"])),
                  _cell(" | ".join(r.get("failed", [])))) for r in results)
    return Sheet("shortlist", ("rank", "worker_id", "name", "region", "score", *comps, "eligible", "reasons",
                               "gaps", "failed"), rows)


def _cell(text: str | None) -> str | None:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text and text[0] in "=+-@\t\r" else text


def _safe(id_: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in id_)


# -- outcomes ------------------------------------------------------------------------------------

@router.post("/job-orders/{id}/outcomes", name="web_record_outcome")
def record_outcome(request: Request, id: str, form: CsrfForm,
                   user: Annotated[User, Depends(require("create_outcome"))], engine: EngineDep) -> Response:
    stage, worker_id = form.get("stage"), form.get("worker_id")
    if stage not in RECORDED_STAGES or not isinstance(worker_id, str):
        raise PageError(422, "bad_input")
    try:
        model = MODELS["outcomes"].model_validate({"worker_id": worker_id, "vacancy_id": id, "stage": stage,
                                                   "date": form.get("date") or engine.matcher.ctx.today})
    except ValidationError as exc:
        raise PageError(422, "bad_input", "; ".join(e["msg"] for e in exc.errors())) from exc
    if may_write(engine, user.key, "outcomes", model):  # the API's own check: in scope, else "not found"
        raise PageError(404, "not_found")
    engine.live.write("outcomes", [model])
    log.info("outcome recorded from the web by key %s", user.key.id)
    return RedirectResponse(f"/job-orders/{id}?saved={worker_id}:{stage}#outcomes", status_code=303)


@router.get("/outcomes", name="web_outcomes", response_class=HTMLResponse)
def outcomes(request: Request, user: Annotated[User, Depends(require("list_outcomes"))], engine: EngineDep,
             vacancy_id: Annotated[str | None, Query(max_length=200)] = None,
             offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    items, total = _page(engine, user, vacancy_id=vacancy_id or None, offset=offset)
    return render(request, "outcomes.html", {"items": items, "total": total, "offset": offset, "limit": 50,
                                             "vacancy_id": vacancy_id or ""}, user=user)


def _outcomes(engine: Engine, user: User, *, vacancy_id: str) -> list[dict[str, Any]]:
    return _page(engine, user, vacancy_id=vacancy_id, offset=0, limit=200)[0]


def _page(engine: Engine, user: User, *, vacancy_id: str | None, offset: int, limit: int = 50
          ) -> tuple[list[dict[str, Any]], int]:
    """Outcomes the key may see, as ``list_outcomes`` scopes them (its regions and agency)."""
    return engine.store.page("outcomes", offset=offset, limit=limit, regions=user.key.regions,
                             agency=user.key.agency, vacancy_id=vacancy_id)
