"""all-MiniLM-L6-v2 through ONNX Runtime with int8 weights.

The packaged model (weights checked as for the torch backend) is exported to ONNX with torch's
exporter and its MatMuls made int8 products by :data:`RECIPE`, once, into a cache folder (by
default ``<home>/models``); later loads read that file. Tokens come from the model's own
``tokenizer.json`` (``tokenizers``); texts are batched by token count (as few pad tokens as
possible); pooling is the model's mean over tokens, then L2.
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sepadan.errors import ConfigError
from sepadan.features.encoders.common import file_sha256, unit_rows
from sepadan.features.encoders.minilm import checked_folder, folder_name, quiet_transformers

log = logging.getLogger(__name__)
INT8_FILE = "model.int8.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
LAYER_GROUPS = {  # a transformer layer's MatMuls with weights, by the module that owns them
    "qkv": ("attention/self/query", "attention/self/key", "attention/self/value"),
    "attn_out": ("attention/output/dense",), "ffn_in": ("intermediate/dense",), "ffn_out": ("output/dense",),
}


@dataclass(frozen=True, slots=True)
class Recipe:
    """How the int8 file is made from the exported fp32 graph.

    ``method``: ``dynamic`` (onnxruntime's ``quantize_dynamic``: int8 weights, each batch's
    activations quantised with one scale per tensor), ``rows`` (:mod:`~sepadan.features.encoders.rowwise`:
    each token's activations on their own scale, so a phrase's vector does not depend on the
    phrases batched with it) or ``static`` (:mod:`~sepadan.features.encoders.static_int8`: one fixed
    scale an input from ``calibration`` ESCO occupation labels, the GELU outputs per token). With
    ``outlier_threshold``, each input channel whose activations pass it on the calibration labels is
    split into copies under it. ``keep_fp32``: (layer, group) pairs of :data:`LAYER_GROUPS` left in
    float32 (``dynamic`` and ``rows``). ``attention``: the transformers attention the graph is
    exported from (``sdpa``, transformers' default, or ``eager``: the same arithmetic in fewer nodes).
    """

    method: str = "dynamic"
    per_channel: bool = True
    reduce_range: bool = False
    outlier_threshold: float | None = None
    calibration: int = 256
    keep_fp32: tuple[tuple[int, str], ...] = ()
    attention: str = "sdpa"
    version: int = 1

    def card(self) -> dict[str, object]:
        """What recipe.json records (a file made by any other card is made again)."""
        card: dict[str, object] = {"exporter": "torch.onnx (torchscript)", "opset": 17, "version": self.version,
                                   "method": self.method, "keep_fp32": [list(p) for p in self.keep_fp32]}
        if self.attention != "sdpa":
            card["attention"] = self.attention
        if self.method == "dynamic":
            card |= {"quantiser": "quantize_dynamic", "weight_type": "QInt8", "per_channel": self.per_channel,
                     "reduce_range": self.reduce_range, "op_types": ["MatMul"]}
        elif self.method == "static":
            card |= {"quantiser": "fixed scales (sepadan static_int8)", "weights": "int8 per channel, symmetric",
                     "activations": "uint8, one calibrated scale an input; after GELU per token, zero point 10",
                     "outlier_threshold": self.outlier_threshold, "outliers": "split into equal copies",
                     "calibration": f"{self.calibration} ESCO occupation labels"}
        else:
            card |= {"quantiser": "per-token int8 (sepadan rowwise)", "weights": "int8 per channel, symmetric",
                     "outlier_threshold": self.outlier_threshold, "outliers": "split into equal copies",
                     "calibration": f"{self.calibration} ESCO occupation labels" if self.outlier_threshold else None}
        return card

    def kept_nodes(self, graph_nodes: Sequence[str]) -> list[str]:
        """The names of the MatMul nodes this recipe leaves in float32, among ``graph_nodes``."""
        suffixes = [f"/layer.{layer}/{module}/MatMul" for layer, group in self.keep_fp32
                    for module in LAYER_GROUPS[group]]
        return [n for n in graph_nodes if any(n.endswith(s) for s in suffixes)]


# Chosen on data no benchmark scores (experiments/onnx_recipes.py, results in
# experiments/results/onnx-recipes.md). Recipe 2 (per-token scales, channels past 6.0 split):
# Recipe(method="rows", outlier_threshold=6.0, version=2). Recipe 3: fixed scales from 256 ESCO
# occupation labels, the channels past 3.0 split, GELU outputs per token, the eager-attention graph.
RECIPE = Recipe(method="static", outlier_threshold=3.0, attention="eager", version=3)


def int8_model(path: Path, sha256: str, cache_dir: Path, recipe: Recipe = RECIPE) -> Path:
    """The int8 ONNX file of the sentence-transformers folder ``path`` (weights ``sha256``) in
    ``cache_dir``, made there first if it is missing or was made by another recipe."""
    folder = cache_dir / f"{folder_name(path, sha256).replace('@', '-')}-onnx-int8"
    target, card = folder / INT8_FILE, folder / "recipe.json"
    wanted = {**recipe.card(), "source_sha256": sha256}
    if target.exists() and _read_json(card) == wanted:
        return target
    log.info("quantising %s to int8 ONNX in %s (once)", path, folder)
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".onnx-", dir=folder) as tmp, _quiet():
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / INT8_FILE
        _export(path, fp32, attention=recipe.attention)
        _quantise(fp32, int8, recipe, path)
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


def _export(path: Path, out: Path, *, attention: str = "sdpa") -> None:
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

    model = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation=attention).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    sample = tokenizer(["care for the elderly", "operate a forklift truck"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(Hidden(model), tuple(sample[name] for name in INPUTS), str(out), dynamo=False,
                          input_names=list(INPUTS), output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17)


def _quantise(fp32: Path, int8: Path, recipe: Recipe, tokenizer_dir: Path) -> None:
    _require("onnx", "quantising the model")
    import onnx

    names = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node if n.op_type == "MatMul"]
    kept = recipe.kept_nodes(names)
    if len(kept) != sum(len(LAYER_GROUPS[g]) for _, g in recipe.keep_fp32):
        raise ConfigError(f"{fp32}: the recipe's float32 nodes {recipe.keep_fp32} are not all in the graph")
    if recipe.method == "static":
        from sepadan.features.encoders.rowwise import channel_maxima, split_channels
        from sepadan.features.encoders.static_int8 import quantise_static

        maxima = channel_maxima(fp32, _calibration_feeds(tokenizer_dir, recipe.calibration), exclude=kept)
        split = split_channels(maxima, threshold=recipe.outlier_threshold) if recipe.outlier_threshold else {}
        quantise_static(fp32, int8, maxima=maxima, split=split, exclude=kept)
    elif recipe.method == "dynamic":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=recipe.per_channel,
                         reduce_range=recipe.reduce_range, op_types_to_quantize=["MatMul"], nodes_to_exclude=kept)
    elif recipe.method == "rows":
        from sepadan.features.encoders.rowwise import channel_maxima, quantise_rows, split_channels

        split = None
        if recipe.outlier_threshold is not None:
            feeds = _calibration_feeds(tokenizer_dir, recipe.calibration)
            split = split_channels(channel_maxima(fp32, feeds, exclude=kept), threshold=recipe.outlier_threshold)
        quantise_rows(fp32, int8, exclude=kept, split=split)
    else:
        raise ConfigError(f"unknown quantisation method '{recipe.method}' (dynamic, rows or static)")


def _calibration_feeds(tokenizer_dir: Path, count: int) -> list[dict[str, np.ndarray]]:
    """One feed a text: ``count`` ESCO occupation labels (a seeded sample of the shipped taxonomy)."""
    import random

    from sepadan.features.taxonomy import load_taxonomy

    labels = random.Random(0).sample(sorted(o.label for o in load_taxonomy().occupations.values()), count)
    tokenizer = _tokenizer(tokenizer_dir)
    feeds = []
    for encoded in tokenizer.encode_batch(labels):
        ids = np.array([encoded.ids], dtype=np.int64)
        feeds.append({"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)})
    return feeds


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
                 batch_size: int = 128, threads: int | None = None, recipe: Recipe = RECIPE) -> None:
        started = time.perf_counter()
        sha = checked_folder(path, expected_sha256)
        self.path, self.batch_size = path, batch_size
        self.file = int8_model(path, sha, cache_dir, recipe)
        self.name = f"{folder_name(path, sha)}+onnx-int8@{file_sha256(self.file)[:12]}"
        self._session = _session(self.file, threads)
        self._tokenizer = _tokenizer(path)
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        config = _read_json(path / "config.json")
        self.dim = int(config["hidden_size"]) if isinstance(config, dict) else 384
        log.info("loaded model %s in %.1fs", self.name, time.perf_counter() - started)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        tokens = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(t) for t in tokens], kind="stable")  # equal token counts: no padding
        parts = [self._batch([tokens[i] for i in order[s:s + self.batch_size]])
                 for s in range(0, len(texts), self.batch_size)]
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        out[order] = np.vstack(parts)
        return out

    def _batch(self, tokens: list[list[int]]) -> np.ndarray:
        width = max(len(t) for t in tokens)
        ids = np.full((len(tokens), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(tokens), width), dtype=np.int64)
        for row, t in enumerate(tokens):
            ids[row, :len(t)], mask[row, :len(t)] = t, 1
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
    tokenizer.no_padding()  # each batch is padded to its longest text (OnnxInt8Encoder._batch)
    return tokenizer

