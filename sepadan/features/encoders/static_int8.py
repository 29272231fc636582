"""int8 MatMuls with activation scales fixed on calibration text (ONNX graph rewrite).

Each MatMul whose second input is a 2-D initializer becomes, on its input ``A`` ([..., K]) and
weight ``W`` ([K, N]) with bias ``b`` (the ``Add`` after it, when there is one):

    q = QuantizeLinear(A, S, 128)                 uint8, one scale for the tensor, fixed
    Y = MatMulIntegerToFloat(q, W8, S, w, b)      W8 int8 per output channel (scale w), u8 x s8

``S`` is the largest magnitude the input reached on the calibration text, over 127: it is a
constant, so a phrase's vector does not depend on the phrases batched with it, and the product
needs two nodes where per-token scales (:mod:`~sepadan.features.encoders.rowwise`) need a dozen.
A constant scale is only as fine as the input's largest value allows; the few channels far past the
others (channel 99 of MiniLM's hidden state reaches ~30 where most stay under 2) are split into
``m`` copies of ``A_c / m`` (outlier channel splitting, Zhao et al. 2019) so that none sets ``S``:
the copies are gathered, scaled and quantised apart (a few columns) and concatenated after the
quantised tensor, whose own column ``c`` meets a zero weight row.

The inputs of the feed-forward output products (after GELU) are sparse: a channel that stays small
on the calibration text can reach ten times the scale on another phrase, so a constant scale
saturates. Those stay per token: each token's scale from its own largest value, and since GELU is
never below ``-GELU_MIN`` the zero point is fixed near the bottom of the range (``Z0``), which
gives twice the resolution of a symmetric scale. onnxruntime (1.32) scales a ``MatMulIntegerToFloat``
bias by a per-row activation scale, so those products keep their ``Add``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from pathlib import Path

import numpy as np

from sepadan.features.encoders.rowwise import write_rewritten

log = logging.getLogger(__name__)
GELU_MIN = 0.17  # GELU(x) >= -0.16997 for every x
Z0 = 10  # the per-token zero point of a GELU output: -GELU_MIN and below map to 0 when the scale is small
PER_TOKEN = re.compile(r"/layer\.\d+/output/dense/MatMul$")  # a BERT layer's FFN output product: after GELU


def quantise_static(fp32: Path, out: Path, *, maxima: dict[str, np.ndarray], split: dict[str, dict[int, int]],
                    exclude: Collection[str] = ()) -> int:
    """Writes ``out``: ``fp32`` with every weight MatMul not named in ``exclude`` as an int8 product,
    on a fixed scale from ``maxima`` (input name -> each channel's largest magnitude on calibration
    text) with the channels of ``split`` (input name -> channel -> copies) split, or per token after
    GELU (:data:`PER_TOKEN`); returns how many MatMuls were replaced."""
    import onnx

    model = onnx.load(str(fp32))
    graph = model.graph
    rewrite = _Rewrite({t.name: t for t in graph.initializer}, _consumers(graph.node))
    for node in graph.node:
        rewrite.visit(node, exclude, maxima, split)
    still_used = {i for node in rewrite.nodes for i in node.input} | {o.name for o in graph.output}
    write_rewritten(model, rewrite.nodes, [t for t in graph.initializer if t.name in still_used] + rewrite.consts,
                    out)
    log.debug("static int8: %d MatMuls replaced (%d per token)", rewrite.replaced, rewrite.per_token)
    return rewrite.replaced


def _consumers(nodes) -> dict[str, list]:  # noqa: ANN001 - onnx NodeProtos
    out: dict[str, list] = {}
    for node in nodes:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


class _Rewrite:
    """The new node list, built one original node at a time."""

    def __init__(self, weights: dict, consumers: dict) -> None:
        self.weights, self.consumers = weights, consumers
        self.nodes: list = []
        self.consts: list = []
        self.quantised: dict[str, tuple[str, str, str, str | None]] = {}  # input -> (q, scale, zero point, rows shape)
        self.skipped: set[str] = set()
        self.replaced = self.per_token = 0

    def const(self, value: np.ndarray, name: str) -> str:
        from onnx import numpy_helper

        self.consts.append(numpy_helper.from_array(value, name))
        return name

    def visit(self, node, exclude: Collection[str], maxima: dict, split: dict) -> None:  # noqa: ANN001
        if node.name in self.skipped and node.name:
            return
        weight = self.weights.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if weight is None or node.name in exclude or len(weight.dims) != 2:
            self.nodes.append(node)
            return
        from onnx import numpy_helper

        w = numpy_helper.to_array(weight).astype(np.float32)
        a = node.input[0]
        rows = bool(PER_TOKEN.search(node.name))
        copies = {} if rows else split.get(a, {})
        if a not in self.quantised:
            self.quantised[a] = self._per_token(a, w.shape[0]) if rows else self._static(a, maxima[a], copies)
        q, scale, zero, shape = self.quantised[a]
        if copies:  # the channel's own row meets zeros; its copies carry the row once each
            w = np.concatenate([np.where(np.isin(np.arange(len(w)), list(copies))[:, None], 0, w),
                                w[[c for c, m in sorted(copies.items()) for _ in range(m)]]])
        self._product(node, w, q, scale, zero, shape)
        self.replaced += 1
        self.per_token += rows

    def _static(self, a: str, maxima: np.ndarray, copies: dict[int, int]) -> tuple[str, str, str, None]:
        from onnx import helper

        p = f"static/{len(self.quantised)}"
        base = maxima.copy()
        base[list(copies)] = 0
        top = max([float(base.max())] + [float(maxima[c]) / m for c, m in copies.items()])
        scale = self.const(np.array(max(top, 1e-12) / 127, np.float32), f"{p}/scale")
        zero = self.const(np.array(128, np.uint8), f"{p}/zero")
        self.nodes.append(helper.make_node("QuantizeLinear", [a, scale, zero], [f"{p}/q_own"]))
        if not copies:
            return f"{p}/q_own", scale, zero, None
        picked = [c for c, m in sorted(copies.items()) for _ in range(m)]
        shares = [1 / m for c, m in sorted(copies.items()) for _ in range(m)]
        self.nodes += [
            helper.make_node("Gather", [a, self.const(np.array(picked, np.int64), f"{p}/idx")], [f"{p}/picked"],
                             axis=-1),
            helper.make_node("Mul", [f"{p}/picked", self.const(np.array(shares, np.float32), f"{p}/share")],
                             [f"{p}/copies"]),
            helper.make_node("QuantizeLinear", [f"{p}/copies", scale, zero], [f"{p}/q_copies"]),
            helper.make_node("Concat", [f"{p}/q_own", f"{p}/q_copies"], [f"{p}/q"], axis=-1),
        ]
        return f"{p}/q", scale, zero, None

    def _per_token(self, a: str, k: int) -> tuple[str, str, str, str]:
        """A GELU output, each token (row) on its own scale: max(row max / (255 - Z0), GELU_MIN / Z0)."""
        from onnx import TensorProto, helper

        p = f"tokens/{len(self.quantised)}"
        c = self.const
        self.nodes += [
            helper.make_node("Shape", [a], [f"{p}/shape"]),
            helper.make_node("Slice", [f"{p}/shape", c(np.array([0], np.int64), f"{p}/start"),
                                       c(np.array([-1], np.int64), f"{p}/last")], [f"{p}/lead"]),
            helper.make_node("Reshape", [a, c(np.array([-1, k], np.int64), f"{p}/2d")], [f"{p}/a2"]),
            helper.make_node("ReduceMax", [f"{p}/a2"], [f"{p}/max"], axes=[1], keepdims=0),
            helper.make_node("Mul", [f"{p}/max", c(np.array(1 / (255 - Z0), np.float32), f"{p}/step")], [f"{p}/s0"]),
            helper.make_node("Max", [f"{p}/s0", c(np.array(GELU_MIN / Z0, np.float32), f"{p}/floor")], [f"{p}/s"]),
            helper.make_node("Mul", [f"{p}/s", c(np.array(0, np.float32), f"{p}/nil")], [f"{p}/z0"]),
            helper.make_node("Add", [f"{p}/z0", c(np.array(Z0, np.float32), f"{p}/zf")], [f"{p}/z1"]),
            helper.make_node("Cast", [f"{p}/z1"], [f"{p}/zeros"], to=TensorProto.UINT8),
            helper.make_node("QuantizeLinear", [f"{p}/a2", f"{p}/s", f"{p}/zeros"], [f"{p}/q"], axis=0),
            helper.make_node("Unsqueeze", [f"{p}/s", c(np.array([1], np.int64), f"{p}/axis1")], [f"{p}/s_col"]),
        ]
        return f"{p}/q", f"{p}/s_col", c(np.array(Z0, np.uint8), f"{p}/zero"), f"{p}/lead"

    def _product(self, node, w: np.ndarray, q: str, scale: str, zero: str, shape: str | None) -> None:  # noqa: ANN001
        from onnx import helper

        tag = f"{node.name}/int8"
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127
        inputs = [q, self.const(np.round(w / w_scale).astype(np.int8), f"{tag}/w8"), scale,
                  self.const(w_scale.astype(np.float32), f"{tag}/ws"), zero,
                  self.const(np.array(0, np.int8), f"{tag}/wzero")]
        bias, out = self._bias(node) if shape is None else (None, node.output[0])
        inputs += [bias] if bias else []
        if shape is None:
            self.nodes.append(helper.make_node("MatMulIntegerToFloat", inputs, [out], domain="com.microsoft", name=tag))
            return
        n = self.const(np.array([w.shape[1]], np.int64), f"{tag}/n")
        self.nodes += [
            helper.make_node("MatMulIntegerToFloat", inputs, [f"{tag}/y2"], domain="com.microsoft", name=tag),
            helper.make_node("Concat", [shape, n], [f"{tag}/shape"], axis=0),
            helper.make_node("Reshape", [f"{tag}/y2", f"{tag}/shape"], list(node.output)),
        ]

    def _bias(self, node) -> tuple[str | None, str]:  # noqa: ANN001
        """The bias of the ``Add`` that alone reads ``node``'s output (then skipped), and the output to write."""
        readers = self.consumers.get(node.output[0], [])
        if len(readers) != 1 or readers[0].op_type != "Add" or not readers[0].name:
            return None, node.output[0]
        other = next(i for i in readers[0].input if i != node.output[0])
        if other not in self.weights or len(self.weights[other].dims) != 1:
            return None, node.output[0]
        self.skipped.add(readers[0].name)
        return other, readers[0].output[0]
