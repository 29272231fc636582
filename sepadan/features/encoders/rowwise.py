"""int8 MatMuls with each token's activations quantised on their own scale (ONNX graph rewrite).

onnxruntime's dynamic quantiser gives a MatMul's input one scale for the whole batch (every token
of every phrase in it): a few large activations (BERT's feed-forward layers have them) crush the
rest, and a phrase's vector moves with the phrases batched with it. Here each MatMul whose second
input is a 2-D initializer becomes, on the input ``A`` ([..., K]) and the weight ``W`` ([K, N]):

    s = max|A_row| / 127                        one scale per token (row of A)
    q = QuantizeLinear(A, s, 128, axis=0)       uint8, zero point 128: symmetric
    Y = MatMulIntegerToFloat(q, W8, s, w)       W8 int8 per output channel (scale w), u8 x s8

so the integer product runs on onnxruntime's u8s8 kernels (VNNI/AMX) and a token's result does not
depend on its batch. MatMuls reading the same input (query, key and value) share one quantisation.

A handful of input channels carry activations many times the others' (channel 99 of MiniLM's hidden
state reaches ~30 where most stay under 2), and one such value sets its token's scale. With
``split``, each channel whose largest value on calibration text passes the threshold is split into
``ceil(max / threshold)`` equal copies (outlier channel splitting, Zhao et al. 2019): the copies
share the value, the weight row is repeated for each, so the product is unchanged and no copy is
large enough to set the scale.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def quantise_rows(fp32: Path, out: Path, *, exclude: Collection[str] = (),
                  split: dict[str, dict[int, int]] | None = None) -> int:
    """Writes ``out``: ``fp32`` with every weight MatMul not named in ``exclude`` as an int8
    product with per-token activation scales, the channels of ``split`` (input name -> channel ->
    copies) split; returns how many MatMuls were replaced."""
    import onnx
    from onnx import helper, numpy_helper

    split = split or {}
    model = onnx.load(str(fp32))
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    consts = [numpy_helper.from_array(np.array(128, np.uint8), "rows/zp"),
              numpy_helper.from_array(np.array(0, np.int8), "rows/wzp"),
              numpy_helper.from_array(np.array(1 / 127, np.float32), "rows/inv127"),
              numpy_helper.from_array(np.array(1e-12, np.float32), "rows/eps"),
              numpy_helper.from_array(np.array(0, np.float32), "rows/zero"),
              numpy_helper.from_array(np.array(128, np.float32), "rows/c128"),
              numpy_helper.from_array(np.array([1], np.int64), "rows/axis1"),
              numpy_helper.from_array(np.array([0], np.int64), "rows/start"),
              numpy_helper.from_array(np.array([-1], np.int64), "rows/last")]
    nodes, quantised, replaced, dropped = [], {}, 0, set()
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if weight is None or node.name in exclude or len(weight.dims) != 2:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight).astype(np.float32)
        k, n = w.shape
        a, copies = node.input[0], split.get(node.input[0], {})
        repeated = [c for c, m in sorted(copies.items()) for _ in range(m - 1)]
        if a not in quantised:
            quantised[a] = f"rows/{len(quantised)}"
            nodes += _quantise_input(helper, numpy_helper, a, quantised[a], k, consts, copies, repeated)
        p, tag = quantised[a], f"{node.name}/rows"
        w = np.concatenate([w, w[repeated]]) if repeated else w  # each copy's weight row
        scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127
        consts += [numpy_helper.from_array(np.round(w / scale).astype(np.int8), f"{tag}/w8"),
                   numpy_helper.from_array(scale.astype(np.float32), f"{tag}/ws"),
                   numpy_helper.from_array(np.array([n], np.int64), f"{tag}/n")]
        nodes += [
            helper.make_node("MatMulIntegerToFloat", [f"{p}/q", f"{tag}/w8", f"{p}/s_col", f"{tag}/ws", "rows/zp",
                                                      "rows/wzp"], [f"{tag}/y2"], domain="com.microsoft"),
            helper.make_node("Concat", [f"{p}/lead", f"{tag}/n"], [f"{tag}/shape"], axis=0),
            helper.make_node("Reshape", [f"{tag}/y2", f"{tag}/shape"], list(node.output), name=tag),
        ]
        dropped.add(weight.name)
        replaced += 1
    still_used = {i for node in nodes for i in node.input}
    write_rewritten(model, nodes, [t for t in graph.initializer if t.name not in dropped or t.name in still_used]
                    + consts, out)
    log.debug("rowwise: %d MatMuls as int8 with per-token scales", replaced)
    return replaced


def write_rewritten(model, nodes: list, initializers: list, out: Path) -> None:  # noqa: ANN001 - an onnx ModelProto
    """Saves ``model`` to ``out`` with its graph's nodes and initializers replaced, the
    com.microsoft domain (MatMulIntegerToFloat) declared."""
    import onnx

    graph = model.graph
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(out))


def _quantise_input(helper, numpy_helper, a: str, p: str, k: int, consts: list,  # noqa: ANN001
                    copies: dict[int, int], repeated: list[int]) -> list:
    """Nodes that quantise ``a`` ([..., k]) once: ``p/q`` uint8 [M, k + extra copies],
    ``p/s_col`` [M, 1] and ``p/lead`` (the leading dimensions, for the output's shape)."""
    from onnx import TensorProto

    consts.append(numpy_helper.from_array(np.array([-1, k], np.int64), f"{p}/2d"))
    nodes = [helper.make_node("Shape", [a], [f"{p}/shape"]),
             helper.make_node("Slice", [f"{p}/shape", "rows/start", "rows/last"], [f"{p}/lead"]),
             helper.make_node("Reshape", [a, f"{p}/2d"], [f"{p}/a2" if not repeated else f"{p}/a2full"])]
    if repeated:
        share = np.ones(k, np.float32)
        for c, m in copies.items():
            share[c] = 1 / m
        consts += [numpy_helper.from_array(share, f"{p}/share"),
                   numpy_helper.from_array(np.array(repeated, np.int64), f"{p}/idx"),
                   numpy_helper.from_array(share[repeated], f"{p}/share_copies")]
        nodes += [helper.make_node("Mul", [f"{p}/a2full", f"{p}/share"], [f"{p}/a2own"]),
                  helper.make_node("Gather", [f"{p}/a2full", f"{p}/idx"], [f"{p}/picked"], axis=1),
                  helper.make_node("Mul", [f"{p}/picked", f"{p}/share_copies"], [f"{p}/copies"]),
                  helper.make_node("Concat", [f"{p}/a2own", f"{p}/copies"], [f"{p}/a2"], axis=1)]
    return nodes + [
        helper.make_node("Abs", [f"{p}/a2"], [f"{p}/abs"]),
        helper.make_node("ReduceMax", [f"{p}/abs"], [f"{p}/max"], axes=[1], keepdims=0),
        helper.make_node("Mul", [f"{p}/max", "rows/inv127"], [f"{p}/s0"]),
        helper.make_node("Max", [f"{p}/s0", "rows/eps"], [f"{p}/s"]),
        helper.make_node("Mul", [f"{p}/s", "rows/zero"], [f"{p}/z0"]),
        helper.make_node("Add", [f"{p}/z0", "rows/c128"], [f"{p}/z1"]),
        helper.make_node("Cast", [f"{p}/z1"], [f"{p}/zp"], to=TensorProto.UINT8),
        helper.make_node("QuantizeLinear", [f"{p}/a2", f"{p}/s", f"{p}/zp"], [f"{p}/q"], axis=0),
        helper.make_node("Unsqueeze", [f"{p}/s", "rows/axis1"], [f"{p}/s_col"]),
    ]


def channel_maxima(fp32: Path, feeds: list[dict[str, np.ndarray]], *,
                   exclude: Collection[str] = ()) -> dict[str, np.ndarray]:
    """For each weight MatMul's input in ``fp32``, each channel's largest magnitude over the
    calibration inputs ``feeds`` (one text each, so no padding)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    model = onnx.load(str(fp32))
    weights = {t.name for t in model.graph.initializer}
    inputs = list(dict.fromkeys(n.input[0] for n in model.graph.node if n.op_type == "MatMul"
                                and len(n.input) == 2 and n.input[1] in weights and n.name not in exclude))
    model.graph.output.extend(helper.make_empty_tensor_value_info(name) for name in inputs)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    maxima: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(inputs, session.run(inputs, feed), strict=True):
            m = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            maxima[name] = np.maximum(maxima[name], m) if name in maxima else m
    return maxima


def split_channels(maxima: dict[str, np.ndarray], *, threshold: float) -> dict[str, dict[int, int]]:
    """Per input, the channels past ``threshold`` and into how many copies each is split."""
    return {name: {int(c): math.ceil(float(m[c]) / threshold) for c in np.flatnonzero(m > threshold)}
            for name, m in maxima.items() if (m > threshold).any()}
