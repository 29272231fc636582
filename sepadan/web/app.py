"""The web app, served at ``/`` by the same FastAPI app (and process) as the API at ``/v1``.

``mount_web(app)`` adds the page routers, the static files and the handlers that turn
:class:`~sepadan.web.deps.SignInRequired` into a redirect and :class:`~sepadan.web.deps.PageError`
into an error page. Page modules are listed in :data:`ROUTERS` (see CONVENTIONS.md).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import RedirectResponse, Response

from sepadan.web import admin, auth, imports, officer, planner, workers
from sepadan.web.deps import PageError, SignInRequired, WebState, current_user, render

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
ROUTERS = [auth.router, officer.router, workers.router, planner.router, imports.router, admin.router]


def mount_web(app: FastAPI, web: WebState | None = None) -> None:
    """Serve the pages on ``app`` (whose ``state.sepadan`` is the API's AppState)."""
    app.state.web = web or WebState()
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInRequired, _to_signin)
    app.add_exception_handler(PageError, _error_page)


def _to_signin(request: Request, exc: Exception) -> Response:
    target = request.url.path if request.method == "GET" else "/"
    return RedirectResponse("/signin?next=" + quote(target, safe="/"), status_code=303)


def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    try:
        user = current_user(request)  # the navigation stays, for a signed-in user
    except SignInRequired:
        user = None
    return render(request, "error.html", {"message": exc.message, "detail": exc.detail, "status": exc.status},
                  user=user, status=exc.status)
