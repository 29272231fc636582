"""The batch functions: each stage turns one partition into a table of rows.

A stage is a small picklable object: :meth:`open` makes its heavy state once per worker (the model,
a shard's matcher), :meth:`run` answers one :class:`~sepadan.batch.plan.Partition` with a
``pyarrow.Table``. The local runner and the Ray runner call exactly these (Ray Data ``map_batches``
with an actor pool, one actor per worker), so the two runners share one code path.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sepadan.batch.plan import Partition
from sepadan.batch.shards import ShardState, VacancySide, shard_matcher

log = logging.getLogger(__name__)

MATCH_COLUMNS = ("subject_id", "rank", "worker_id", "vacancy_id", "score", "model_version", "components",
                 "reasons", "gaps")


def resolve(value: Any) -> Any:
    """A value put in Ray's object store comes back from it; anything else is itself."""
    ray = sys.modules.get("ray")
    if ray is not None and isinstance(value, ray.ObjectRef):
        return ray.get(value)
    return value


def match_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("subject_id", pa.string()), ("rank", pa.int32()), ("worker_id", pa.string()),
                      ("vacancy_id", pa.string()), ("score", pa.float64()), ("model_version", pa.string()),
                      ("components", pa.string()), ("reasons", pa.string()), ("gaps", pa.string())])


def match_rows(ml: Any) -> list[dict[str, Any]]:
    """One row per result of a MatchList, ranked from 1 (reasons and gaps as JSON message lists)."""
    return [{"subject_id": ml.subject_id, "rank": rank, "worker_id": m.worker_id, "vacancy_id": m.vacancy_id,
             "score": m.score, "model_version": ml.model_version, "components": json.dumps(m.components),
             "reasons": json.dumps(m.reasons, ensure_ascii=False), "gaps": json.dumps(m.gaps, ensure_ascii=False)}
            for rank, m in enumerate(ml.results, start=1)]


def table(rows: list[dict[str, Any]], schema: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema)


# --- encode: new phrases, once -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Where a worker finds the model (not the model itself): the sentence-transformers folder, and
    the encoder setting that reads it (``minilm-onnx-int8``: its int8 file made once in ``cache_dir``)."""

    path: str
    sha256: str | None
    encoder: str = "minilm"
    cache_dir: str | None = None


@dataclass(frozen=True, slots=True)
class EncodeStage:
    phrases: Any  # tuple[str, ...] (or its object-store reference)
    model: Any  # ModelSpec, or an encoder object that pickles (a test's fake)
    name: str = "encode"
    actor: bool = True

    def open(self) -> tuple[tuple[str, ...], Any]:
        if isinstance(self.model, ModelSpec) and self.model.encoder == "minilm":
            from sepadan.features.encoder import SentenceEncoder

            return resolve(self.phrases), SentenceEncoder(Path(self.model.path), expected_sha256=self.model.sha256)
        if isinstance(self.model, ModelSpec):
            from sepadan.features.encoders.choice import FOLDER_KINDS, open_encoder, parse_encoder

            m = self.model
            folder = Path(m.path) if set(parse_encoder(m.encoder)) & set(FOLDER_KINDS) else None
            model = open_encoder(m.encoder, model_path=folder, sha256=m.sha256 if folder else None,
                                 cache_dir=Path(m.cache_dir) if m.cache_dir else None)
            return resolve(self.phrases), model
        return resolve(self.phrases), self.model

    def run(self, state: tuple[tuple[str, ...], Any], part: Partition) -> Any:
        import pyarrow as pa

        phrases, encoder = state
        texts = list(phrases[part.lo:part.hi])
        vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
        dim = vectors.shape[1] if vectors.ndim == 2 else 0
        column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), type=pa.float32()), dim)
        return pa.Table.from_arrays([pa.array(texts, type=pa.string()), column], names=["text", "vector"])


# --- shortlists over shards, merged; recommendations per shard ------------------------------------

@dataclass(frozen=True, slots=True)
class CellSearch:
    """``--candidates ivf``: the shard matchers search through the cells the ``cells`` stage wrote."""

    run_path: str
    options: Any  # sepadan.batch.vectors.CellOptions, resolved (its precision bf16 or float32)
    source: str = "cells"


class _Shards:
    """A worker's shard matchers, made the first time a partition of that shard arrives."""

    def __init__(self, vacancies: Any, shards: Sequence[Any], cells: CellSearch | None = None) -> None:
        self.vacancies, self.shards, self.cells = vacancies, list(shards), cells
        self._side: VacancySide | None = None
        self._matchers: dict[int, Any] = {}

    def matcher(self, shard: int) -> Any:
        if shard not in self._matchers:
            if self._side is None:
                self._side = resolve(self.vacancies)
            state: ShardState = resolve(self.shards[shard])
            self._matchers[shard] = shard_matcher(self._side, state, **self._indexes(shard, state))
        return self._matchers[shard]

    def _indexes(self, shard: int, state: ShardState) -> dict[str, Any]:
        if self.cells is None:
            return {}
        from sepadan.batch.cellindex import CandidateIndex, CellIndex
        from sepadan.batch.cells import cell_candidates, probers
        from sepadan.batch.vectors import read_cells

        o, orders = self.cells.options, self._side.index.vectors  # type: ignore[union-attr]
        cells = read_cells(Path(self.cells.run_path) / self.cells.source / f"s{shard:02d}.parquet", len(state.records))
        by = probers(orders, cells.centroids, o.probe_orders) if o.probe_orders else None
        return {"worker_index": CellIndex(state.vectors, cells, o.nprobe, scoring=o.scoring()),
                "vacancy_index": CandidateIndex(orders, cells.centroids, cell_candidates(cells.centroids, orders, o.m,
                                                                                         probers=by),
                                                cells=o.worker_cells, scoring=o.scoring(recommend=True))}


@dataclass(frozen=True, slots=True)
class ShortlistStage:
    """Each open order's top k within one shard (the matcher's own shortlist over that shard)."""

    vacancies: Any
    shards: tuple[Any, ...]
    orders: tuple[tuple[str, int], ...]  # (vacancy id, k)
    cells: CellSearch | None = None
    name: str = "shortlist-shards"
    actor: bool = True

    def open(self) -> _Shards:
        return _Shards(self.vacancies, self.shards, self.cells)

    def run(self, state: _Shards, part: Partition) -> Any:
        m = state.matcher(part.shard or 0)
        rows = [r for vid, k in self.orders[part.lo:part.hi] for r in match_rows(m.shortlist(vid, k=k))]
        return table(rows, match_schema())


@dataclass(frozen=True, slots=True)
class MergeStage:
    """The shards' lists of one chunk of orders merged: best score first, ties to the smaller worker id
    (the order every shortlist uses), each order's top k."""

    run_path: str
    source: str
    n_shards: int
    orders: tuple[tuple[str, int], ...]
    name: str = "shortlists"
    actor: bool = False

    def open(self) -> None:
        return None

    def run(self, state: None, part: Partition) -> Any:
        import pyarrow.parquet as pq

        chunk = part.key
        parts = [pq.read_table(Path(self.run_path) / self.source / f"s{s:02d}-{chunk}.parquet").to_pylist()
                 for s in range(self.n_shards)]
        by_order: dict[str, list[dict[str, Any]]] = {}
        for rows in parts:
            for row in rows:
                by_order.setdefault(row["subject_id"], []).append(row)
        out = []
        for vid, k in self.orders[part.lo:part.hi]:
            ranked = sorted(by_order.get(vid, []), key=lambda r: (-r["score"], r["worker_id"]))[:k]
            out += [{**r, "rank": rank} for rank, r in enumerate(ranked, start=1)]
        return table(out, match_schema())


@dataclass(frozen=True, slots=True)
class RecommendStage:
    """Each available worker's top k job orders (legal channels only), in the worker's own shard."""

    vacancies: Any
    shards: tuple[Any, ...]
    workers: tuple[tuple[str, ...], ...]  # per shard: the ids to recommend for
    k: int
    cells: CellSearch | None = None
    name: str = "recommendations"
    actor: bool = True

    def open(self) -> _Shards:
        return _Shards(self.vacancies, self.shards, self.cells)

    def run(self, state: _Shards, part: Partition) -> Any:
        m = state.matcher(part.shard or 0)
        ids = self.workers[part.shard or 0][part.lo:part.hi]
        rows = [r for wid in ids for r in match_rows(m.recommend(wid, k=self.k))]
        return table(rows, match_schema())
