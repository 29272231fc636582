"""Serving learned rankers through the matcher's :class:`~sepadan.matching.matcher.Scorer` seam.

:class:`RankerScorer` scores a pair with a fitted ranker on the allow-listed features and keeps the
transparent scorer's components, reasons and gaps, so every explanation stays. Its version names the
registered model version (``sepadan-ranker/3``).

:class:`ChampionScorer` is what the engine hands the matcher: it serves the version under the alias
``champion``, checks the alias at most every ``refresh_seconds`` and swaps in a new champion without
a restart, and falls back to the transparent scorer (with a logged warning) while none is
registered or the champion cannot be loaded. :meth:`RankerScorer.parts` gives each feature's contribution to the learned score (they add up to it:
the model is additive, :mod:`sepadan.models.ranker`). A list is ranked by one model from its first score to
the moment the matcher reads ``version`` for it (each thread pins the model it started with), so a
shortlist never mixes two versions and always names the one that ranked it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sepadan.config import Settings
from sepadan.matching.eligibility import Context
from sepadan.matching.scorer import Pair, Scored, TransparentScorer
from sepadan.models.features import FEATURES, pair_features, protected_names
from sepadan.models.registry import MODEL_NAME, LoadedRanker, Registry

if TYPE_CHECKING:  # the ranker module imports scikit-learn (0.6 s): only once a ranker is served
    from sepadan.models.ranker import MonotoneRanker

log = logging.getLogger(__name__)


class RankerScorer:
    """A fitted ranker as a Scorer: the learned score, the transparent explanation."""

    def __init__(self, model: MonotoneRanker, transparent: TransparentScorer, *, version: str) -> None:
        from sepadan.models.ranker import feature_names

        self.features = feature_names(model)
        missing = [n for n in self.features if n not in FEATURES]
        if missing:
            raise ValueError(f"{version} reads features this version of sepadan does not compute: {missing}")
        if protected_names(self.features):
            raise ValueError(f"{version} reads protected attributes: {protected_names(self.features)}")
        self.model, self.transparent, self.version = model, transparent, version

    @classmethod
    def from_registry(cls, loaded: LoadedRanker, transparent: TransparentScorer) -> RankerScorer:
        return cls(loaded.model, transparent, version=loaded.label)

    def score(self, pair: Pair, ctx: Context) -> Scored:
        feats = pair_features(pair, ctx, self.transparent)
        learned = float(self.model.predict_array(feats.row(self.features)[None, :])[0])
        return Scored(round(learned, 4), feats.components, feats.reasons, feats.gaps)

    def parts(self, pair: Pair, ctx: Context) -> list[tuple[str, float, float]]:
        """``(feature, value, contribution)`` for each feature the model reads; the contributions add
        up to the score (before rounding)."""
        row = pair_features(pair, ctx, self.transparent).row(self.features)
        parts = self.model.contributions_array(row[None, :])[0]
        return [(name, float(value), float(part)) for name, value, part in zip(self.features, row, parts)]


class ChampionScorer:
    """The registry's champion, watched: a Scorer whose model follows the alias ``champion``."""

    def __init__(self, registry: Registry, transparent: TransparentScorer, *, refresh_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry, self.transparent = registry, transparent
        self.refresh_seconds, self.clock = refresh_seconds, clock
        self._lock = threading.Lock()
        self._local = threading.local()
        self._current: RankerScorer | TransparentScorer = transparent
        self._served: int | None = None
        self._checked: float | None = None
        self.refresh(force=True)

    @property
    def version(self) -> str:
        """The version that ranked the list this thread just scored (then the next list may switch)."""
        active = getattr(self._local, "active", None)
        self._local.active = None
        return (active or self._current).version

    @property
    def current(self) -> RankerScorer | TransparentScorer:
        return self._current

    def score(self, pair: Pair, ctx: Context) -> Scored:
        active = getattr(self._local, "active", None)
        if active is None:
            self.refresh()
            active = self._local.active = self._current
        return active.score(pair, ctx)

    def refresh(self, *, force: bool = False) -> bool:
        """Check the alias if ``refresh_seconds`` have passed (or ``force``); True if the model changed."""
        now = self.clock()
        if not force and self._checked is not None and now - self._checked < self.refresh_seconds:
            return False
        with self._lock:
            if not force and self._checked is not None and now - self._checked < self.refresh_seconds:
                return False
            self._checked = now
            return self._follow_alias(first=force and self._served is None)

    def _follow_alias(self, *, first: bool) -> bool:
        try:
            wanted = self.registry.champion_version()
        except Exception as exc:  # a locked or unreachable store must not stop serving
            log.warning("cannot read the champion alias (%s); still ranking with %s", exc, self._current.version)
            return False
        if wanted == self._served and not first:
            return False
        if wanted is None:
            return self._fall_back(first)
        try:
            scorer = RankerScorer.from_registry(self.registry.load(wanted), self.transparent)
        except Exception as exc:
            log.warning("cannot load %s/%s (%s); still ranking with %s", MODEL_NAME, wanted, exc,
                        self._current.version)
            return False
        before = self._current.version
        self._current, self._served = scorer, wanted
        log.info("ranking with %s (champion)%s", scorer.version, "" if first else f", was {before}")
        return True

    def _fall_back(self, first: bool) -> bool:
        changed = self._served is not None
        where = self.registry.tracking_uri
        if not self.registry.exists():
            log.info("no ranker trained yet (no tracking store at %s); ranking with %s", where,
                     self.transparent.version)
        elif first or changed:
            log.warning("no ranker registered as %s@champion at %s; ranking with %s", MODEL_NAME, where,
                        self.transparent.version)
        self._current, self._served = self.transparent, None
        return changed


def champion_scorer(settings: Settings, transparent: TransparentScorer) -> ChampionScorer:
    """The engine's scorer: the champion at the settings' tracking URI (default: the home's SQLite)."""
    return ChampionScorer(Registry.for_home(settings.home, settings.mlflow_tracking_uri), transparent,
                          refresh_seconds=settings.ranker_refresh_seconds)
