"""sepadan: link-and-match for Indonesian labour migration."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sepadan.config import Settings
    from sepadan.engine import Engine
    from sepadan.errors import InvalidInput, NotFound, SepadanError
    from sepadan.matching.matcher import Match, Matcher, MatchList

__version__ = "0.1.0"
__all__ = ["Engine", "InvalidInput", "Match", "MatchList", "Matcher", "NotFound", "SepadanError",
           "Settings", "__version__"]
_WHERE = {"Settings": "sepadan.config", "Engine": "sepadan.engine", "InvalidInput": "sepadan.errors",
          "NotFound": "sepadan.errors", "SepadanError": "sepadan.errors", "Match": "sepadan.matching.matcher",
          "Matcher": "sepadan.matching.matcher", "MatchList": "sepadan.matching.matcher"}


def __getattr__(name: str) -> Any:
    """The public names, imported on first use: ``sepadan --help`` does not pay for the engine."""
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sepadan' has no attribute {name!r}")
