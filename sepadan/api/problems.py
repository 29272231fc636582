"""Errors as problem+json (RFC 9457), one translation of the library's exceptions at the HTTP edge."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from sepadan.errors import ConfigError, FileTooLarge, InvalidInput, NotFound, SepadanError, UnreadableFile

log = logging.getLogger(__name__)
MEDIA = "application/problem+json"
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Content too large",
          415: "Unsupported media type", 422: "Unprocessable content", 429: "Too many requests",
          500: "Internal server error", 503: "Service unavailable"}


class FieldProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="where: body.skills[2], query.k, or file row and field")
    message: str
    row: int | None = None


class Problem(BaseModel):
    """RFC 9457 problem details (extension members allowed)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"type": "about:blank", "title": "Not found", "status": 404, "detail": "worker 'W-1' not found"}]})
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


class ProblemError(Exception):
    """Raised by the API layer to answer a problem at once."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.errors = status, detail, headers or {}, errors


def problem(status: int, detail: str | None, *, instance: str | None = None,
            errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
            extra: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
                            **(extra or {})}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA, headers=headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem statuses a route can answer."""
    return {s: {"model": Problem, "description": TITLES.get(s, "Error"),
                "content": {MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}}} for s in statuses}


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(SepadanError, _library_error)
    app.add_exception_handler(Exception, _server_error)


async def _problem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem(exc.status, exc.detail, instance=request.url.path, errors=exc.errors, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem(exc.status_code, str(exc.detail) if exc.detail else None, instance=request.url.path,
                   headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method of every route on the path: Starlette's 405 names only the first route's, so
    ``OPTIONS /v1/workers`` said ``Allow: GET`` although POST is there too (RFC 9110 15.5.6)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.PARTIAL:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": _message(e)} for e in exc.errors()]
    return problem(422, "the request is not valid", instance=request.url.path, errors=errors)


def _message(e: dict[str, Any]) -> str:
    """The problem in words; the submitted value is never echoed (it may be personal data)."""
    return "is required" if e.get("type") == "missing" else str(e.get("msg", "invalid")).removeprefix("Value error, ")


async def _library_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotFound):
        return problem(404, str(exc), instance=request.url.path)
    if isinstance(exc, InvalidInput):
        errors = [{"field": e.field, "row": e.row, "message": e.message} for e in exc.errors[:200]]
        return problem(422, f"{len(exc.errors)} invalid field(s); nothing was written", instance=request.url.path,
                       errors=errors)
    if isinstance(exc, FileTooLarge):
        return problem(413, str(exc), instance=request.url.path)
    if isinstance(exc, UnreadableFile):
        return problem(422, str(exc), instance=request.url.path,
                       errors=[{"field": "body.file", "message": "not a readable file of this type"}])
    if isinstance(exc, ConfigError):
        log.error("configuration problem: %s", exc)
        return problem(503, "the service is not configured correctly", instance=request.url.path)
    return problem(400, str(exc), instance=request.url.path)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.scope.get("route_name", request.url.path))
    return problem(500, "internal error; it has been logged", instance=request.url.path)
