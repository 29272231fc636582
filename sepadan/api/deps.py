"""Typed dependencies for the routers: the app state, the engine, the current matcher.

They only read attributes, so they are ``async def``: FastAPI runs a plain ``def`` dependency in the
thread pool, a hand-off per dependency and request (issue 15: three of them were a measurable share
of a shortlist's HTTP overhead)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from sepadan.api.problems import ProblemError
from sepadan.api.state import AppState
from sepadan.engine import Engine
from sepadan.matching.matcher import Matcher


async def get_state(request: Request) -> AppState:
    return request.app.state.sepadan


async def get_engine(state: Annotated[AppState, Depends(get_state)]) -> Engine:
    if not state.ready:
        raise ProblemError(503, "the service is still loading" if state.status == "loading" else "the service failed to load",
                           headers={"Retry-After": "5"})
    return state.engine


async def get_matcher(engine: Annotated[Engine, Depends(get_engine)]) -> Matcher:
    """The matcher as it is now; the request keeps it even if a write swaps in a new one. One not
    built yet is built in the thread pool, never on the event loop."""
    matcher = engine.built_matcher()
    return matcher if matcher is not None else await run_in_threadpool(lambda: engine.matcher)


StateDep = Annotated[AppState, Depends(get_state)]
EngineDep = Annotated[Engine, Depends(get_engine)]
MatcherDep = Annotated[Matcher, Depends(get_matcher)]
