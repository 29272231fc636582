"""int8 MatMuls with each token's activations quantised on their own scale (ONNX graph rewrite).

onnxruntime's dynamic quantiser gives a MatMul's input one scale for the whole batch (every token
of every phrase in it): a few large activations (BERT's feed-forward layers have them) crush the
rest, and a phrase's vector moves with the phrases batched with it. Here each MatMul whose second
input is a 2-D initializer becomes, on the input ``A`` ([..., K]) and the weight ``W`` ([K, N]):

    s = max|A_row| / 127                      one scale per token (row of A)
    q = QuantizeLinear(A, s, 128, axis=0)     uint8, zero point 128: symmetric
    Y = MatMulInteger(q, W8, 128, 0) * s * w  W8 int8 per output channel (scale w), u8 x s8

so the integer product runs on onnxruntime's u8s8 kernels (VNNI/AMX) and a token's result does not
depend on its batch. MatMuls reading the same input (query, key and value) share one quantisation.

A handful of input channels carry activations many times the others' (channel 99 of MiniLM's hidden
state reaches ~30 where most stay under 2): with ``outliers`` those channels (found by
:func:`outlier_channels` on calibration text) are taken out of the int8 product and multiplied in
float32, as LLM.int8() does: ``Y = int8(A with them zeroed) + A[:, them] @ W[them, :]``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def quantise_rows(fp32: Path, out: Path, *, exclude: Collection[str] = (),
                  outliers: dict[str, list[int]] | None = None) -> int:
    """Writes ``out``: ``fp32`` with every weight MatMul not named in ``exclude`` as an int8
    product with per-token activation scales, the ``outliers`` channels of each input (by input
    name) in float32; returns how many were replaced."""
    outliers = outliers or {}
    import onnx
    from onnx import TensorProto, helper, numpy_helper

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
        a = node.input[0]
        apart = sorted(outliers.get(a, ()))
        if a not in quantised:
            quantised[a] = f"rows/{len(quantised)}"
            nodes += _quantise_input(helper, TensorProto, numpy_helper, a, quantised[a], k, consts, apart)
        p, tag = quantised[a], f"{node.name}/rows"
        w_apart = w[apart]
        if apart:
            w = w.copy()
            w[apart] = 0
        scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127
        consts += [numpy_helper.from_array(np.round(w / scale).astype(np.int8), f"{tag}/w8"),
                   numpy_helper.from_array(scale.astype(np.float32), f"{tag}/ws"),
                   numpy_helper.from_array(np.array([n], np.int64), f"{tag}/n")]
        nodes += [
            helper.make_node("MatMulInteger", [f"{p}/q", f"{tag}/w8", "rows/zp", "rows/wzp"], [f"{tag}/i32"]),
            helper.make_node("Cast", [f"{tag}/i32"], [f"{tag}/f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{tag}/f", f"{p}/s_col"], [f"{tag}/fs"]),
            helper.make_node("Mul", [f"{tag}/fs", f"{tag}/ws"], [f"{tag}/y2" if not apart else f"{tag}/y8"]),
        ]
        if apart:
            consts.append(numpy_helper.from_array(np.ascontiguousarray(w_apart), f"{tag}/w_apart"))
            nodes += [helper.make_node("MatMul", [f"{p}/apart", f"{tag}/w_apart"], [f"{tag}/yf"]),
                      helper.make_node("Add", [f"{tag}/y8", f"{tag}/yf"], [f"{tag}/y2"])]
        nodes += [
            helper.make_node("Concat", [f"{p}/lead", f"{tag}/n"], [f"{tag}/shape"], axis=0),
            helper.make_node("Reshape", [f"{tag}/y2", f"{tag}/shape"], list(node.output), name=tag),
        ]
        dropped.add(weight.name)
        replaced += 1
    still_used = {i for node in nodes for i in node.input}
    kept = [t for t in graph.initializer if t.name not in dropped or t.name in still_used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + consts)
    onnx.save(model, str(out))
    log.debug("rowwise: %d MatMuls as int8 with per-token scales", replaced)
    return replaced


def _quantise_input(helper, TensorProto, numpy_helper, a: str, p: str, k: int, consts: list,  # noqa: ANN001, N803
                    apart: list[int]) -> list:
    """Nodes that quantise ``a`` ([..., k]) once: ``p/q`` uint8 [M, k], ``p/s_col`` [M, 1],
    ``p/lead`` (the leading dimensions, for the output's shape) and, when channels are ``apart``,
    ``p/apart`` [M, len(apart)] (those channels in float32, zeroed in ``p/q``)."""
    consts.append(numpy_helper.from_array(np.array([-1, k], np.int64), f"{p}/2d"))
    nodes = [
        helper.make_node("Shape", [a], [f"{p}/shape"]),
        helper.make_node("Slice", [f"{p}/shape", "rows/start", "rows/last"], [f"{p}/lead"]),
        helper.make_node("Reshape", [a, f"{p}/2d"], [f"{p}/a2" if not apart else f"{p}/a2full"]),
    ]
    if apart:
        keep = np.ones(k, np.float32)
        keep[apart] = 0
        consts += [numpy_helper.from_array(keep, f"{p}/keep"), numpy_helper.from_array(np.array(apart, np.int64), f"{p}/idx")]
        nodes += [helper.make_node("Mul", [f"{p}/a2full", f"{p}/keep"], [f"{p}/a2"]),
                  helper.make_node("Gather", [f"{p}/a2full", f"{p}/idx"], [f"{p}/apart"], axis=1)]
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


def outlier_channels(fp32: Path, feeds: list[dict[str, np.ndarray]], *, threshold: float,
                     exclude: Collection[str] = ()) -> dict[str, list[int]]:
    """For each weight MatMul's input in ``fp32``, the channels whose largest magnitude over the
    calibration inputs ``feeds`` (one text each, so no padding) exceeds ``threshold``."""
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
        values = session.run(inputs, feed)
        for name, value in zip(inputs, values, strict=True):
            m = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            maxima[name] = np.maximum(maxima[name], m) if name in maxima else m
    return {name: [int(i) for i in np.flatnonzero(m > threshold)] for name, m in maxima.items()}
