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


def authenticate(request: Request, header: Annotated[str | None, Depends(_header)],
                 bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    state = request.app.state.sepadan
    address = request.client.host if request.client else "unknown"
    retry = state.auth_failures.blocked(address)  # before the key is looked at: a right guess is 429 too
    if retry:
        raise ProblemError(429, "too many failed authentications from this address", headers={"Retry-After": str(retry)})
    token = header or (bearer.credentials if bearer else None)
    if not token or len(token) > 200:
        _failed(state, address, "an API key is required (header X-API-Key)")
    key = state.keys.get(token)
    if key is None:
        _failed(state, address, "unknown or revoked API key")
    operation = request.scope["route"].name
    if key.role not in POLICY.get(operation, frozenset()):
        raise ProblemError(403, f"the {key.role} role may not call {operation}")
    retry = state.limiter.take(key.id)
    if retry:
        raise ProblemError(429, "rate limit reached for this key", headers={"Retry-After": str(retry)})
    request.state.key = key
    return key


def _failed(state: Any, address: str, detail: str) -> NoReturn:
    """A missing or unknown key: 401, counted against the caller's address."""
    state.auth_failures.take(address)
    raise ProblemError(401, detail, headers={"WWW-Authenticate": 'Bearer realm="sepadan"'})


KeyDep = Annotated[ApiKey, Depends(authenticate)]


class KeyCache:
    """Token -> key, looked up in the store and remembered for a few seconds (revocation takes
    effect within ``ttl``)."""

    def __init__(self, store: object, ttl: float = 10.0) -> None:
        self.store, self.ttl = store, ttl
        self._seen: dict[str, tuple[float, ApiKey | None]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> ApiKey | None:
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(token)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        key = find_key(self.store, token)  # type: ignore[arg-type]
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[token] = (now, key)
        return key
