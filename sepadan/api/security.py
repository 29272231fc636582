"""Who may call what: API keys, the role x route policy (denied unless listed), rate limits.

Every route under /v1 names its operation; :data:`POLICY` lists, for each operation, the roles that
may call it. An operation missing from the table is denied to every role, and a test walks every
role against every route. Record-level scoping (regions, agency) is applied by the routes and
answers 404, never 403, so a key cannot learn that another region's record exists.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated

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
}
PUBLIC = frozenset({"health", "version", "metrics"})

_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key from `sepadan keys create`")
_bearer = HTTPBearer(auto_error=False, description="the same key as a bearer token")


def authenticate(request: Request, header: Annotated[str | None, Depends(_header)],
                 bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> ApiKey:
    token = header or (bearer.credentials if bearer else None)
    if not token or len(token) > 200:
        raise ProblemError(401, "an API key is required (header X-API-Key)",
                           headers={"WWW-Authenticate": 'Bearer realm="sepadan"'})
    state = request.app.state.sepadan
    key = state.keys.get(token)
    if key is None:
        raise ProblemError(401, "unknown or revoked API key", headers={"WWW-Authenticate": 'Bearer realm="sepadan"'})
    operation = request.scope["route"].name
    if key.role not in POLICY.get(operation, frozenset()):
        raise ProblemError(403, f"the {key.role} role may not call {operation}")
    retry = state.limiter.take(key.id)
    if retry:
        raise ProblemError(429, "rate limit reached for this key", headers={"Retry-After": str(retry)})
    request.state.key = key
    return key


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


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, bursts up to ``burst``."""

    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst or max(1, per_minute // 6))
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str) -> int:
        """0 if allowed; else the seconds to wait (for Retry-After)."""
        if self.rate <= 0:
            return 0
        now = time.monotonic()
        with self._lock:
            b = self._buckets.setdefault(key_id, _Bucket(self.burst, now))
            b.tokens = min(self.burst, b.tokens + (now - b.at) * self.rate)
            b.at = now
            if b.tokens >= 1:
                b.tokens -= 1
                return 0
            return max(1, int((1 - b.tokens) / self.rate + 0.999))
