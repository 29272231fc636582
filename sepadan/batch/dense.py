"""The dense candidate pass over shards: every order's top k workers and every worker's top k orders.

Stages ``topk-shards`` (each chunk of orders against each worker shard), ``shortlist-topk`` (merged
over shards) and ``recommend-topk`` (each shard's workers against every order), by the vector batch
functions of :mod:`sepadan.batch.vectors`, through whichever runner the :class:`~sepadan.batch.job.Stages`
hold. The benchmark runs it at 1M workers; a run of the matcher's stages does not need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sepadan.batch.job import Stages
from sepadan.batch.plan import Partition, partitions
from sepadan.batch.vectors import QueryShardTopK, ShardTopK, TopKMerge, VectorShard


@dataclass(frozen=True, slots=True)
class DenseOptions:
    shortlist_k: int = 30
    recommend_k: int = 10
    orders_per_partition: int = 2000
    workers_per_partition: int = 50_000


def dense_candidates(job: Stages, orders: VectorShard, shards: Sequence[VectorShard],
                     options: DenseOptions = DenseOptions()) -> None:
    runner = job.runner
    oref, srefs = runner.share(orders), tuple(runner.share(s) for s in shards)
    chunks = partitions("shortlist-topk", len(orders.ids), options.orders_per_partition, prefix="o")
    job.stage(ShardTopK(oref, srefs, options.shortlist_k),
              [Partition("topk-shards", f"s{s:02d}-{c.key}", c.lo, c.hi, s) for s in range(len(shards))
               for c in chunks])
    job.stage(TopKMerge(str(job.run.path), "topk-shards", len(shards), orders.ids, options.shortlist_k,
                        name="shortlist-topk"), chunks)
    job.stage(QueryShardTopK(srefs, oref, options.recommend_k, name="recommend-topk"),
              [p for s, shard in enumerate(shards) for p in partitions(
                  "recommend-topk", len(shard.ids), options.workers_per_partition, prefix="w", shard=s)])
