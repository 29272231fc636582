"""Sign in with an API key (or a one-time link), exchanged for a server-side session; sign out.

The session cookie is HttpOnly, SameSite=Strict, Secure over https, and expires with the session.
The sign-in form is guarded by a double-submit token (a cookie and a hidden field), the other
forms by the session's CSRF token. Failed sign-ins count against the address like the API's
failed authentications. A portal key cannot sign in: no page is for portals.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sepadan.store.keys import ApiKey
from sepadan.store.web_sessions import close_session, open_session, redeem_link
from sepadan.web.deps import (
    SESSION_COOKIE, CsrfForm, PageError, SignInRequired, User, current_user, nav, render, web_state,
)

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
SIGNIN_COOKIE = "sepadan_signin"
LANDING = {"planner": "/planner", "officer": "/job-orders", "admin": "/job-orders"}  # the page each role works on


def home_page(user: User) -> str:
    """Where a role lands after sign-in: its own page if the navigation offers it, else its first link."""
    links = [path for _, path in nav(user)]
    if LANDING.get(user.key.role) in links:
        return LANDING[user.key.role]
    return links[0] if links else "/signin"


@router.get("/", name="web_home")
def home(request: Request) -> Response:
    try:
        user = current_user(request)
    except SignInRequired:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(home_page(user), status_code=303)


@router.get("/signin", name="web_signin")
def signin_form(request: Request, token: Annotated[str | None, Query(max_length=200)] = None,
                next: Annotated[str, Query(max_length=500)] = "/") -> Response:
    if token:
        key = redeem_link(_store(request), token, now=web_state(request).clock())
        if key is None or key.role == "portal":
            return _form(request, "signin.link_bad", next, status=400)
        return _signed_in(request, key, next)
    return _form(request, None, next)


@router.post("/signin", name="web_signin_post")
def signin(request: Request, key: Annotated[str, Form(max_length=200)] = "",
           signin_csrf: Annotated[str, Form(max_length=100)] = "",
           next: Annotated[str, Form(max_length=500)] = "/") -> Response:
    cookie = request.cookies.get(SIGNIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), signin_csrf.encode()):
        raise PageError(403, "csrf")
    state = request.app.state.sepadan
    address = request.client.host if request.client else "unknown"
    failures = getattr(state, "auth_failures", None)  # the API's per-address throttle, where it has one
    if failures is not None and failures.blocked(address):
        return _form(request, "signin.bad", next, status=429)
    found = state.keys.get(key.strip()) if key.strip() else None
    if found is None:
        if failures is not None:
            failures.take(address)
        log.info("web sign-in refused: unknown or revoked key")
        return _form(request, "signin.bad", next, status=401)
    if found.role == "portal":
        return _form(request, "signin.portal", next, status=403)
    return _signed_in(request, found, next)


@router.post("/signout", name="web_signout")
def signout(request: Request, form: CsrfForm) -> Response:
    close_session(_store(request), request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _signed_in(request: Request, key: ApiKey, next_: str) -> Response:
    web = web_state(request)
    token, session = open_session(_store(request), key, now=web.clock(), ttl=web.session_ttl)
    log.info("web session opened for key %s (%s)", key.id, key.role)
    target = next_ if next_.startswith("/") and not next_.startswith("//") and next_ != "/" else None
    response = RedirectResponse(target or home_page(User(key, session.csrf, session.expires_at)), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(web.session_ttl.total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


def _form(request: Request, error: str | None, next_: str, *, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "signin.html", {"error": error, "signin_csrf": token, "next": next_},
                      status=status)
    response.set_cookie(SIGNIN_COOKIE, token, max_age=3600, path="/signin", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def _store(request: Request):  # noqa: ANN202 - the engine's store
    return request.app.state.sepadan.engine.store

