"""all-MiniLM-L6-v2 through ONNX Runtime with int8 weights.

The packaged model (weights checked as for the torch backend) is exported to ONNX with torch's
exporter and its MatMul weights quantised to int8 with onnxruntime's dynamic quantiser, once, into
a cache folder (by default ``<home>/models``); later loads read that file. Tokens come from the
model's own ``tokenizer.json`` (``tokenizers``), pooling is the model's mean over tokens, then L2.
sentence-transformers' own ``backend="onnx"`` needs ``optimum``, which sepadan does not install.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sepadan.errors import ConfigError
from sepadan.features.encoders.common import file_sha256, unit_rows
from sepadan.features.encoders.minilm import checked_folder, folder_name, quiet_transformers

log = logging.getLogger(__name__)
# Per-channel scales and MatMul weights only (the embedding table stays fp32): on 800 lexicon
# phrases and labels, cosine to torch fp32 min 0.979 / mean 0.993, against 0.898 / 0.961 for the
# quantiser's defaults (per-tensor, every supported op).
RECIPE = {"exporter": "torch.onnx (torchscript)", "opset": 17, "quantiser": "quantize_dynamic",
          "weight_type": "QInt8", "per_channel": True, "op_types": ["MatMul"], "version": 1}
INT8_FILE = "model.int8.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def int8_model(path: Path, sha256: str, cache_dir: Path) -> Path:
    """The int8 ONNX file of the sentence-transformers folder ``path`` (weights ``sha256``) in
    ``cache_dir``, made there first if it is missing or was made by another recipe."""
    folder = cache_dir / f"{folder_name(path, sha256).replace('@', '-')}-onnx-int8"
    target, card = folder / INT8_FILE, folder / "recipe.json"
    wanted = {**RECIPE, "source_sha256": sha256}
    if target.exists() and _read_json(card) == wanted:
        return target
    log.info("quantising %s to int8 ONNX in %s (once)", path, folder)
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".onnx-", dir=folder) as tmp, _quiet():
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / INT8_FILE
        _export(path, fp32)
        _quantise(fp32, int8)
        os.replace(int8, target)  # atomic: a concurrent reader sees the old file or the new one
    tmp_card = card.with_name(f".tmp-{os.getpid()}-{card.name}")
    tmp_card.write_text(json.dumps(wanted, sort_keys=True))
    os.replace(tmp_card, card)
    log.info("quantised %s in %.1fs", folder.name, time.perf_counter() - started)
    return target


@contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's tracing warnings and the quantiser's messages to the root logger are about
    its own internals, not the user's data: kept out of the user's terminal."""

    def keep(record: logging.LogRecord) -> bool:
        return "onnxruntime" not in record.pathname

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(keep)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _export(path: Path, out: Path) -> None:
    _require("onnx", "exporting the model to ONNX")
    quiet_transformers()
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Hidden(torch.nn.Module):
        """The transformer's last hidden state from positional inputs (what the exporter traces)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    sample = tokenizer(["care for the elderly", "operate a forklift truck"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(Hidden(model), tuple(sample[name] for name in INPUTS), str(out), dynamo=False,
                          input_names=list(INPUTS), output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=RECIPE["opset"])


def _quantise(fp32: Path, int8: Path) -> None:
    _require("onnx", "quantising the model")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=RECIPE["per_channel"],
                     op_types_to_quantize=list(RECIPE["op_types"]))


def _require(module: str, what: str) -> None:
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"{what} needs the '{module}' package (a dependency of sepadan: reinstall it)") from exc


class OnnxInt8Encoder:
    """all-MiniLM-L6-v2 (or another BERT-style sentence-transformers folder with mean pooling) as
    int8 ONNX on ONNX Runtime's CPU provider."""

    licence = "Apache-2.0 (all-MiniLM-L6-v2 weights); onnxruntime MIT, onnx Apache-2.0"

    def __init__(self, path: Path, *, cache_dir: Path, expected_sha256: str | None = None,
                 batch_size: int = 128, threads: int | None = None) -> None:
        started = time.perf_counter()
        sha = checked_folder(path, expected_sha256)
        self.path, self.batch_size = path, batch_size
        self.file = int8_model(path, sha, cache_dir)
        self.name = f"{folder_name(path, sha)}+onnx-int8@{file_sha256(self.file)[:12]}"
        self._session = _session(self.file, threads)
        self._tokenizer = _tokenizer(path)
        config = _read_json(path / "config.json")
        self.dim = int(config["hidden_size"]) if isinstance(config, dict) else 384
        log.info("loaded model %s in %.1fs", self.name, time.perf_counter() - started)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths pad less
        parts = [self._batch([texts[i] for i in order[s:s + self.batch_size]])
                 for s in range(0, len(texts), self.batch_size)]
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        out[order] = np.vstack(parts)
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return unit_rows(pooled)


def _session(file: Path, threads: int | None):  # noqa: ANN202 - onnxruntime is imported here
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def _tokenizer(path: Path):  # noqa: ANN202 - the tokenizers type
    from tokenizers import Tokenizer

    config = _read_json(path / "sentence_bert_config.json")
    max_length = int(config.get("max_seq_length", 256)) if isinstance(config, dict) else 256
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    return tokenizer

