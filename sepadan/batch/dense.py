"""The dense candidate pass over shards: every order's top k workers and every worker's top k orders.

Stages ``topk-shards`` (each chunk of orders against each worker shard), ``shortlist-topk`` (merged
over shards) and ``recommend-topk`` (each shard's workers against every order), by the vector batch
functions of :mod:`sepadan.batch.vectors`, through whichever runner the :class:`~sepadan.batch.job.Stages`
hold. ``candidates="exact"`` scores all pairs; ``"ivf"`` first builds each shard's cells (stage
``cells``, :mod:`sepadan.batch.cells`) and scores only the pairs the cells propose, in both directions
(in the precision ``CellOptions.precision`` resolves to, once, here). ``precision="bf16"`` with
``"exact"`` scores all pairs in bfloat16 and re-scores each query's best in float32: the benchmark's
peer for what the lower precision alone buys.
The benchmark runs it at 1M workers; a run of the matcher's stages does not need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sepadan.batch.job import Stages
from sepadan.batch.lowp import resolve
from sepadan.batch.plan import Partition, partitions
from sepadan.batch.vectors import (
    CellBuild,
    CellOptions,
    CellRecommend,
    CellShardTopK,
    QueryShardTopK,
    ShardTopK,
    TopKMerge,
    VectorShard,
)

CANDIDATES = ("exact", "ivf")


@dataclass(frozen=True, slots=True)
class DenseOptions:
    shortlist_k: int = 30
    recommend_k: int = 10
    orders_per_partition: int = 2000
    workers_per_partition: int = 50_000
    candidates: str = "exact"  # exact: all pairs; ivf: through each shard's cells (sepadan.batch.cells)
    cells: CellOptions = CellOptions()
    precision: str = "float32"  # exact: all pairs in float32 (FAISS), or bf16 re-scored in float32 (a peer)


def dense_candidates(job: Stages, orders: VectorShard, shards: Sequence[VectorShard],
                     options: DenseOptions = DenseOptions()) -> None:
    if options.candidates not in CANDIDATES:
        raise ValueError(f"candidates must be one of {', '.join(CANDIDATES)}, not '{options.candidates}'")
    runner = job.runner
    oref, srefs = runner.share(orders), tuple(runner.share(s) for s in shards)
    chunks = partitions("shortlist-topk", len(orders.ids), options.orders_per_partition, prefix="o")
    short_parts = [Partition("topk-shards", f"s{s:02d}-{c.key}", c.lo, c.hi, s) for s in range(len(shards))
                   for c in chunks]
    rec_parts = [p for s, shard in enumerate(shards) for p in partitions(
        "recommend-topk", len(shard.ids), options.workers_per_partition, prefix="w", shard=s)]
    run_path, k_s, k_r = str(job.run.path), options.shortlist_k, options.recommend_k
    cells = options.cells.resolved() if options.candidates == "ivf" else options.cells  # one precision for all
    every = resolve(options.precision)
    if options.candidates == "exact":
        job.stage(ShardTopK(oref, srefs, k_s, precision=every, margin=cells.margin), short_parts)
    else:
        job.stage(CellBuild(srefs, cells, oref), [Partition("cells", f"s{s:02d}", 0, len(shard.ids), s)
                                                  for s, shard in enumerate(shards)])
        job.stage(CellShardTopK(oref, srefs, run_path, k_s, cells.nprobe, precision=cells.precision,
                                margin=cells.margin), short_parts)
    job.stage(TopKMerge(run_path, "topk-shards", len(shards), orders.ids, k_s, name="shortlist-topk"), chunks)
    if options.candidates == "exact":
        job.stage(QueryShardTopK(srefs, oref, k_r, name="recommend-topk", precision=every, margin=cells.margin),
                  rec_parts)
    else:
        job.stage(CellRecommend(srefs, oref, run_path, k_r, cells), rec_parts)
