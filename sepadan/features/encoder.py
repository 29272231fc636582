"""Phrase embeddings: the encoder interface and the phrase cache.

The cache encodes each distinct phrase once per model and keeps it in the store, so a million
workers who share a few thousand skill phrases cost a few thousand encodings. The models live in
:mod:`sepadan.features.encoders` (all-MiniLM-L6-v2 on torch or as int8 ONNX, USE multilingual v3,
multilingual e5-small); their names are re-exported here, where callers have always found them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

import numpy as np

from sepadan.features.encoders import DEFAULT_ENCODER, ENCODERS, open_encoder
from sepadan.features.encoders.minilm import (
    DEFAULT_MODEL_SHA256,
    SentenceEncoder,
    default_model_path,
    open_model,
    weights_sha256,
)

__all__ = ["DEFAULT_ENCODER", "DEFAULT_MODEL_SHA256", "ENCODERS", "CachedEncoder", "Encoder",
           "SentenceEncoder", "VectorCache", "default_model_path", "open_encoder", "open_model",
           "weights_sha256"]
log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


class Encoder(Protocol):
    """Anything that turns phrases into L2-normalised float32 rows."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class VectorCache(Protocol):
    def cached_vectors(self, model: str, texts: list[str]) -> dict[str, np.ndarray]: ...
    def cache_vectors(self, model: str, vectors: dict[str, np.ndarray]) -> None: ...
    def forget_vectors(self, model: str, texts: list[str]) -> None: ...


_EPHEMERAL: ContextVar[bool] = ContextVar("sepadan_ephemeral_encoding", default=False)


class CachedEncoder:
    """Wraps an encoder: each distinct phrase is encoded once per model, in memory and in the store."""

    def __init__(self, encoder: Encoder, cache: VectorCache | None = None, *, chunk: int = 2048) -> None:
        self.encoder, self.cache, self.chunk = encoder, cache, chunk
        self.name, self.dim = encoder.name, encoder.dim
        self._memory: dict[str, np.ndarray] = {}
        self.encoded = 0

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        distinct = list(dict.fromkeys(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if _EPHEMERAL.get():
            return self._encode_ephemeral(distinct, texts)
        self._fill(distinct, progress)
        return np.stack([self._memory[t] for t in texts])

    @contextmanager
    def ephemeral(self) -> Iterator[None]:
        """Inside this block, phrases not cached yet are encoded but neither kept nor stored (a
        portal's unstored profile); phrases already cached are read as usual."""
        token = _EPHEMERAL.set(True)
        try:
            yield
        finally:
            _EPHEMERAL.reset(token)

    def _encode_ephemeral(self, distinct: list[str], texts: Sequence[str]) -> np.ndarray:
        local = {t: self._memory[t] for t in distinct if t in self._memory}
        missing = [t for t in distinct if t not in local]
        if missing and self.cache is not None:
            local.update(self.cache.cached_vectors(self.name, missing))
            missing = [t for t in missing if t not in local]
        if missing:
            local.update(zip(missing, self.encoder.encode(missing)))
        return np.stack([local[t] for t in texts])

    def forget(self, texts: Sequence[str]) -> None:
        """Drop phrases from memory and from the store's cache (erasure of a worker's own words)."""
        for t in texts:
            self._memory.pop(t, None)
        if self.cache is not None and texts:
            self.cache.forget_vectors(self.name, list(texts))

    def _fill(self, distinct: list[str], progress: Progress | None) -> None:
        missing = [t for t in distinct if t not in self._memory]
        if missing and self.cache is not None:
            self._memory.update(self.cache.cached_vectors(self.name, missing))
            missing = [t for t in missing if t not in self._memory]
        for start in range(0, len(missing), self.chunk):
            batch = missing[start:start + self.chunk]
            fresh = dict(zip(batch, self.encoder.encode(batch)))
            self._memory.update(fresh)
            if self.cache is not None:
                self.cache.cache_vectors(self.name, fresh)
            self.encoded += len(batch)
            if progress:
                progress(min(start + len(batch), len(missing)), len(missing))
        if missing:
            log.info("encoded %d new phrases with %s", len(missing), self.name)
