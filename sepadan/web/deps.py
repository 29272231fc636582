"""What every page uses: the web state, the signed-in user, the language, policy checks, CSRF, and
:func:`render`.

A page declares what it needs as dependencies::

    @router.get("/job-orders/{id}", name="web_job_order")
    def page(request: Request, user: Annotated[User, Depends(require("shortlist"))],
             engine: EngineDep, lang: LangDep) -> HTMLResponse: ...

``require(operation)`` checks the API's own policy (:data:`sepadan.api.security.POLICY`): a page
that shows what an API operation returns requires that operation's roles. A POST also takes
``form: CsrfForm`` (the form, after its CSRF token was checked against the session's).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse

from sepadan.api.security import POLICY
from sepadan.store.keys import ApiKey
from sepadan.store.web_sessions import find_session
from sepadan.web import i18n

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
SESSION_COOKIE = "sepadan_session"
LANG_COOKIE = "lang"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # pages hold names: no copy in shared caches or the back button's disk cache
}


def make_templates() -> Jinja2Templates:
    """Jinja2 with autoescaping on for every template, whatever its suffix."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    return Jinja2Templates(env=env)


@dataclass
class WebState:
    """Held in ``app.state.web``: templates, session lifetimes, and the clock (tests set it)."""

    templates: Jinja2Templates = field(default_factory=make_templates)
    session_ttl: timedelta = timedelta(hours=8)
    link_ttl: timedelta = timedelta(minutes=15)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class User:
    key: ApiKey  # the same record the API authenticates
    csrf: str
    expires_at: datetime

    def may(self, operation: str) -> bool:
        return allowed(self.key, operation)


class SignInRequired(Exception):
    """No live session: the app answers with a redirect to the sign-in page."""


class PageError(Exception):
    """A page that cannot be shown: rendered as ``error.html`` with ``status`` and a UI string key."""

    def __init__(self, status: int, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail


def web_state(request: Request) -> WebState:
    return request.app.state.web


def allowed(key: ApiKey, operation: str) -> bool:
    """The API's policy, unchanged: whether the key's role may call ``operation``."""
    return key.role in POLICY.get(operation, frozenset())


def current_user(request: Request) -> User:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        raise SignInRequired
    store = request.app.state.sepadan.engine.store
    session = find_session(store, token, now=web_state(request).clock())
    if session is None:
        raise SignInRequired
    request.state.key = session.key  # the API middleware (portal scrub, audit) sees the same key
    return User(session.key, session.csrf, session.expires_at)


def require(operation: str) -> Callable[..., User]:
    """A dependency: the signed-in user, if the API policy lets their role call ``operation``."""

    def dependency(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.may(operation):
            raise PageError(403, "forbidden")
        return user

    dependency.__name__ = f"require_{operation}"
    return dependency


def get_lang(request: Request) -> str:
    return i18n.pick(request.query_params.get("lang")) or i18n.pick(request.cookies.get(LANG_COOKIE)) or i18n.DEFAULT


async def csrf_form(request: Request, user: Annotated[User, Depends(current_user)]) -> FormData:
    """The posted form, once its ``csrf`` field matches the session's token (else 403)."""
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), user.csrf.encode()):
        log.warning("form refused: missing or wrong CSRF token")
        raise PageError(403, "csrf")
    return form


UserDep = Annotated[User, Depends(current_user)]
LangDep = Annotated[str, Depends(get_lang)]
CsrfForm = Annotated[FormData, Depends(csrf_form)]


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           user: User | None = None, status: int = 200) -> HTMLResponse:
    """A page: ``template`` with ``context`` plus what ``base.html`` needs (t, lang, user, csrf, nav)."""
    lang = get_lang(request)
    base = {"t": i18n.translator(lang), "lang": lang, "user": user, "csrf": user.csrf if user else "",
            "nav": nav(user), "lang_url": lang_url(request, "en" if lang == "id" else "id"),
            "path": request.url.path}
    response = web_state(request).templates.TemplateResponse(request, template, base | (context or {}),
                                                             status_code=status)
    response.headers.update(SECURITY_HEADERS)
    if i18n.pick(request.query_params.get("lang")):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict",
                            secure=request.url.scheme == "https")
    return response


def lang_url(request: Request, lang: str) -> str:
    """The current page in another language (its other query parameters kept)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return request.url.path + "?" + urlencode(query)


# the navigation: (UI string key, route path, the operation a role needs to see the link)
NAV: list[tuple[str, str, str]] = [
    ("nav.job_orders", "/job-orders", "list_vacancies"),
    ("nav.workers", "/workers", "list_workers"),
    ("nav.outcomes", "/outcomes", "list_outcomes"),
    ("nav.planner", "/planner", "demand_gaps"),
    ("nav.import", "/import", "bulk_workers"),
    ("nav.admin", "/admin", "list_keys"),  # the API's GET /v1/keys (sepadan/api/routes_admin.py)
]


def nav(user: User | None) -> list[tuple[str, str]]:
    """The links a user's role may follow."""
    return [] if user is None else [(label, path) for label, path, op in NAV if user.may(op)]
