"""sepadan: link-and-match for Indonesian labour migration."""

from sepadan.config import Settings
from sepadan.engine import Engine
from sepadan.errors import InvalidInput, NotFound, SepadanError
from sepadan.matching.matcher import Match, Matcher, MatchList

__version__ = "0.1.0"
__all__ = ["Engine", "InvalidInput", "Match", "MatchList", "Matcher", "NotFound", "SepadanError",
           "Settings", "__version__"]
