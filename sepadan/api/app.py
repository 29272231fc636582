"""The FastAPI app: ``create_app(settings)``; ``sepadan serve`` runs it under uvicorn.

The model and the indexes load in the lifespan (in a thread, so /v1/health answers 503 while they
load), never at import. Writes swap in a new matcher; a request keeps the one it started with.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from fastapi import FastAPI
from limits.storage import MemoryStorage, Storage

from sepadan.api import docs, problems, routes_admin
from sepadan.api.metrics import Metrics, MetricsMiddleware
from sepadan.api.middleware import BodyLimit, HoldForTests, PortalScrub
from sepadan.api.routes_allocation import router as allocation_router
from sepadan.api.routes_matching import router as matching_router
from sepadan.api.routes_records import router as records_router
from sepadan.api.routes_system import router as system_router
from sepadan.api.scrub import NikMask, known_niks
from sepadan.api.security import KeyCache
from sepadan.api.state import AppState
from sepadan.api.throttle import Throttle
from sepadan.config import Settings
from sepadan.engine import Engine
from sepadan.store.counters import server_counters

log = logging.getLogger(__name__)
DESCRIPTION = """Link-and-match for Indonesian labour migration: shortlists of eligible workers for job
orders, vacancies for workers (licensed agencies only), explanations in Indonesian or English, and
aggregates for training planners.

Send an API key (from `sepadan keys create --role R`) as `X-API-Key`. Roles: `admin` (imports,
deletes, keys), `officer` (shortlists with names, only the workers of the key's regions), `planner`
(aggregates only), `portal` (`POST /v1/match` and public vacancy data). Errors are
`application/problem+json` (RFC 9457)."""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               today: date | None = None, background: bool = True) -> FastAPI:
    """The app over one engine. ``background=False`` loads in the lifespan itself (tests)."""
    settings = settings or Settings()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    engine = engine or Engine(settings, today=today)
    metrics = Metrics()
    counters = _counters(settings, engine)
    state = AppState(engine=engine, keys=KeyCache(engine.store),
                     limiter=Throttle.per_minute(counters, settings.api_rate_limit, burst=settings.api_rate_burst,
                                                 name="key"),
                     auth_failures=Throttle.per_minute(counters, settings.api_auth_failures,
                                                       burst=settings.api_auth_failures, name="authfail"),
                     metrics=metrics, refresh_seconds=settings.api_refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threads = []
        if background:
            threads.append(threading.Thread(target=state.load, name="sepadan-load", daemon=True))
        else:
            state.load()
        threads.append(threading.Thread(target=state.poll, name="sepadan-refresh", daemon=True))
        for t in threads:
            t.start()
        yield
        state.stop.set()

    app = FastAPI(title="sepadan", version=_version(), description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # docs.install serves them with local assets
                  generate_unique_id_function=lambda route: route.name,
                  openapi_tags=[{"name": n} for n in ("matching", "workers", "vacancies", "trainings",
                                                       "agencies", "outcomes", "planning", "system")])
    app.state.sepadan = state
    problems.install(app)
    docs.install(app, title="sepadan")
    app.include_router(matching_router)
    app.include_router(allocation_router)
    app.include_router(records_router)
    app.include_router(system_router)
    app.include_router(routes_admin.router)  # keys and ranker versions, for admins
    from sepadan.web import mount_web  # the web app at /, beside the API at /v1

    mount_web(app)
    app.add_middleware(BodyLimit, json_max=settings.api_json_max_bytes, upload_max=settings.api_upload_max_bytes)
    app.add_middleware(PortalScrub, mask=NikMask(mac=lambda nik: engine.vault.nik_hmac(nik),
                                                 known=lambda macs: known_niks(engine.store, macs)))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.test_hold_dir is not None:
        log.warning("test hold hook on (SEPADAN_TEST_HOLD_DIR): for tests only")
        app.add_middleware(HoldForTests, folder=settings.test_hold_dir)
    return app


def _counters(settings: Settings, engine: Engine) -> Storage:
    """Counters every server process shares; in memory when no limit is on (nothing to share)."""
    if not (settings.api_rate_limit or settings.api_auth_failures):
        return MemoryStorage()
    return server_counters(store_engine=engine.store.engine, home=settings.home, url=settings.api_limits_url)


def _version() -> str:
    from sepadan.api.routes_system import _package_version

    return _package_version()
