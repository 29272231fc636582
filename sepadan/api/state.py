"""What the app holds while it runs: the engine (store, model, matcher), keys, limits, metrics."""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sepadan.api.security import KeyCache
from sepadan.api.throttle import Throttle
from sepadan.engine import Engine

log = logging.getLogger(__name__)


@dataclass
class AppState:
    engine: Engine
    keys: KeyCache
    limiter: Throttle  # requests per key
    auth_failures: Throttle  # failed authentications per client address
    metrics: Any
    refresh_seconds: float = 5.0
    status: str = "loading"
    detail: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    _derived: dict[Any, tuple[Any, Any]] = field(default_factory=dict)

    def derived(self, key: Any, compute: Any) -> Any:
        """A value worked out from the current matcher, kept until a write swaps the matcher."""
        matcher = self.engine.matcher
        hit = self._derived.get(key)
        if hit is not None and hit[0]() is matcher:
            return hit[1]
        value = compute()
        if len(self._derived) > 256:
            self._derived.clear()
        self._derived[key] = (weakref.ref(matcher), value)  # never keeps an old matcher alive
        return value

    @property
    def ready(self) -> bool:
        return self.status == "ready"

    def load(self) -> None:
        """Open the store, load the model, build or load the indexes (in a thread, from the lifespan)."""
        try:
            self.engine.store.count("workers")
            with self.engine.encoder.ephemeral():  # load the model and pay its slow first batch now
                self.engine.encoder.encode(["warm up"])
            self.engine.build()
            self.status, self.detail = "ready", None
            log.info("ready")
        except Exception as exc:  # noqa: BLE001 - reported by /v1/health, logged in full here
            self.status, self.detail = "failed", type(exc).__name__ + ": " + str(exc)[:300]
            log.exception("loading failed")

    def poll(self) -> None:
        """Pick up writes from other processes: rebuild and swap when the store changed (and drop
        the names held in memory, which may include someone erased there)."""
        while not self.stop.wait(self.refresh_seconds):
            if not self.ready:
                continue
            try:
                if self.engine.live.refresh_if_changed():
                    self.engine.personal.names.clear()
            except Exception:  # noqa: BLE001 - the old matcher keeps serving
                log.exception("refresh failed; serving the previous matcher")
