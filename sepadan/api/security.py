"""Who may call what: API keys, the role x route policy (denied unless listed), rate limits
(:mod:`sepadan.api.throttle`: per key, and per address for failed authentications).

Every route under /v1 names its operation; :data:`POLICY` lists, for each operation, the roles that
may call it. An operation missing from the table is denied to every role, and a test walks every
role against every route. Record-level scoping (regions, agency) is applied by the routes and
answers 404, never 403, so a key cannot learn that another region's record exists.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from sepadan.api.problems import ProblemError
from sepadan.store.keys import ApiKey, find_key

ADMIN, OFFICER, PLANNER, PORTAL = "admin", "officer", "planner", "portal"
STAFF = frozenset({ADMIN, OFFICER})
POLICY: dict[str, frozenset[str]] = {
    # workers: personal data; officers only within their regions
    "list_workers": STAFF, "create_worker": STAFF, "get_worker": STAFF, "put_worker": STAFF,
    "delete_worker": frozenset({ADMIN}), "export_worker": STAFF, "bulk_workers": frozenset({ADMIN}),
    "recommend_for_worker": STAFF, "explain_pair": STAFF,
    # vacancies: public data; writes by admins, or by an agency's own officers for its own job orders
    "list_vacancies": frozenset({ADMIN, OFFICER, PLANNER, PORTAL}),
    "get_vacancy": frozenset({ADMIN, OFFICER, PLANNER, PORTAL}),
    "create_vacancy": STAFF, "put_vacancy": STAFF, "delete_vacancy": frozenset({ADMIN}),
    "bulk_vacancies": frozenset({ADMIN}), "shortlist": STAFF,
    "create_allocation": STAFF, "get_allocation": STAFF,  # allocations across job orders, scoped like shortlists
    # trainings and agencies: reference data
    "list_trainings": frozenset({ADMIN, OFFICER, PLANNER}), "get_training": frozenset({ADMIN, OFFICER, PLANNER}),
    "create_training": frozenset({ADMIN}), "put_training": frozenset({ADMIN}),
    "delete_training": frozenset({ADMIN}), "bulk_trainings": frozenset({ADMIN}),
    "list_agencies": frozenset({ADMIN, OFFICER, PLANNER}), "get_agency": frozenset({ADMIN, OFFICER, PLANNER}),
    "create_agency": frozenset({ADMIN}), "put_agency": frozenset({ADMIN}),
    "delete_agency": frozenset({ADMIN}), "bulk_agencies": frozenset({ADMIN}),
    # outcomes: about workers, so scoped like them
    "list_outcomes": STAFF, "get_outcome": STAFF, "create_outcome": STAFF, "put_outcome": STAFF,
    "delete_outcome": frozenset({ADMIN}), "bulk_outcomes": frozenset({ADMIN}),
    # matching an unstored profile, and aggregates
    "match_profile": frozenset({ADMIN, PORTAL}),
    "demand_gaps": frozenset({ADMIN, PLANNER}),
    # administration: API keys and ranker versions (the routes also refuse an admin key with a scope)
    "list_keys": frozenset({ADMIN}), "create_key": frozenset({ADMIN}), "revoke_key": frozenset({ADMIN}),
    "list_models": frozenset({ADMIN}), "get_model": frozenset({ADMIN}),
    "promote_model": frozenset({ADMIN}), "rollback_model": frozenset({ADMIN}),
}
PUBLIC = frozenset({"health", "version", "metrics"})

_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key from `sepadan keys create`")
_bearer = HTTPBearer(auto_error=False, description="the same key as a bearer token")


async def authenticate(request: Request, header: Annotated[str | None, Depends(_header)],
                       bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    """The caller's key, its role allowed to call the route, within its rate limit (else 401, 403, 429).

    The checks that read the store (the address's failed authentications, the key's record) run in
    the thread pool, as before; a key that passed them from this address moments ago (:meth:`KeyCache.passed`)
    is answered from memory, on the event loop, without a hand-off to a thread (issue 15)."""
    state = request.app.state.sepadan
    address = request.client.host if request.client else "unknown"
    token = header or (bearer.credentials if bearer else None)
    operation = request.scope["route"].name
    key = state.keys.passed(token, address, state.auth_failures.counted(address)) if token else None
    if key is None:
        key = await run_in_threadpool(_checked, state, address, token, operation)
    else:
        _allowed(key, operation)
        limiter = state.limiter
        _within(limiter.take(key.id) if limiter.local else await run_in_threadpool(limiter.take, key.id))
    request.state.key = key
    return key


def _checked(state: Any, address: str, token: str | None, operation: str) -> ApiKey:
    """Every check, reading the store: the address's failures, the key, its role, its rate limit."""
    seen = state.auth_failures.counted(address)  # before the check: a failure counted meanwhile voids the pass
    retry = state.auth_failures.blocked(address)  # before the key is looked at: a right guess is 429 too
    if retry:
        raise ProblemError(429, "too many failed authentications from this address",
                           headers={"Retry-After": str(retry)})
    if not token or len(token) > 200:
        _failed(state, address, "an API key is required (header X-API-Key)")
    key = state.keys.get(token)
    if key is None:
        _failed(state, address, "unknown or revoked API key")
    state.keys.note_pass(token, address, key, seen)
    _allowed(key, operation)
    _within(state.limiter.take(key.id))
    return key


def _allowed(key: ApiKey, operation: str) -> None:
    if key.role not in POLICY.get(operation, frozenset()):
        raise ProblemError(403, f"the {key.role} role may not call {operation}")


def _within(retry: int) -> None:
    if retry:
        raise ProblemError(429, "rate limit reached for this key", headers={"Retry-After": str(retry)})


def _failed(state: Any, address: str, detail: str) -> NoReturn:
    """A missing or unknown key: 401, counted against the caller's address."""
    state.auth_failures.take(address)
    raise ProblemError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="sepadan"'})


KeyDep = Annotated[ApiKey, Depends(authenticate)]


class KeyCache:
    """Token -> key, looked up in the store and remembered for ``ttl`` seconds (revocation takes
    effect within ``ttl``).

    For the same time it remembers the addresses the key passed every check from
    (:meth:`note_pass`), with the count of failed authentications this process had counted from
    each address then. :meth:`passed` answers the key again without the store only while that
    count is unchanged: in one server process the answer is the one the full check would give (an
    address becomes blocked only by failures, and this process counted none since); with several
    processes a block counted by another one reaches this pass within ``ttl``, as a revocation does.
    A token this address has not passed with goes through every check: a right guess is 429 too."""

    MAX_ENTRIES = 10_000
    MAX_ADDRESSES = 64  # per key: more addresses than that are checked every time

    def __init__(self, store: object, ttl: float = 10.0) -> None:
        self.store, self.ttl = store, ttl
        self._seen: dict[str, tuple[float, ApiKey | None, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> ApiKey | None:
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(token)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        key = find_key(self.store, token)  # type: ignore[arg-type]
        with self._lock:
            if len(self._seen) > self.MAX_ENTRIES:
                self._seen.clear()
            self._seen[token] = (now, key, {})
        return key

    def note_pass(self, token: str, address: str, key: ApiKey, failures: Any) -> None:
        """``key`` (what :meth:`get` answered for ``token``) passed every check from ``address``,
        whose failed authentications this process had counted as ``failures`` (:meth:`Throttle.counted`)
        before the check."""
        with self._lock:
            hit = self._seen.get(token)
            if hit is not None and hit[1] is key and len(hit[2]) < self.MAX_ADDRESSES:
                hit[2][address] = failures

    def passed(self, token: str, address: str, failures: Any) -> ApiKey | None:
        """The key, from memory, if it passed from ``address`` since its record was read (less
        than ``ttl`` ago) and ``failures`` (the address's :meth:`Throttle.counted` now) is unchanged."""
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(token)
            if hit is None or now - hit[0] >= self.ttl or hit[2].get(address) != failures:
                return None
            return hit[1]
