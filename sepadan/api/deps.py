"""Typed dependencies for the routers: the app state, the engine, the current matcher."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sepadan.api.problems import ProblemError
from sepadan.api.state import AppState
from sepadan.engine import Engine
from sepadan.matching.matcher import Matcher


def get_state(request: Request) -> AppState:
    return request.app.state.sepadan


def get_engine(state: Annotated[AppState, Depends(get_state)]) -> Engine:
    if not state.ready:
        raise ProblemError(503, "the service is still loading" if state.status == "loading" else "the service failed to load",
                           headers={"Retry-After": "5"})
    return state.engine


def get_matcher(engine: Annotated[Engine, Depends(get_engine)]) -> Matcher:
    """The matcher as it is now; the request keeps it even if a write swaps in a new one."""
    return engine.matcher


StateDep = Annotated[AppState, Depends(get_state)]
EngineDep = Annotated[Engine, Depends(get_engine)]
MatcherDep = Annotated[Matcher, Depends(get_matcher)]
