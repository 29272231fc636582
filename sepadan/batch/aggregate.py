"""The stages that read the whole market at once and run on the driver: allocation and gap tables.

They are batch functions like the others (a partition in, a table out, written and marked done by
the same worker), run by the local runner whichever runner did the shortlists: the allocation is one
min-cost flow over every open order's merged shortlist (:func:`sepadan.allocate.gather_lists`), the
gap tables one planner assessment per region (:func:`sepadan.planning.demand.gap_report`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sepadan.batch.plan import Partition
from sepadan.batch.stages import table
from sepadan.matching.matcher import Match, MatchList

NATIONAL = "national"


def _messages(text: str) -> tuple[Any, ...]:
    return tuple((key, params) for key, params in json.loads(text))


def read_lists(directory: Path) -> dict[str, MatchList]:
    """The merged shortlists of a run as MatchLists (the allocation's input)."""
    import pyarrow.parquet as pq

    lists: dict[str, list[Match]] = {}
    versions: dict[str, str] = {}
    for path in sorted(directory.glob("*.parquet")):
        for r in pq.read_table(path).to_pylist():
            lists.setdefault(r["subject_id"], []).append(Match(
                r["worker_id"], r["vacancy_id"], r["score"], json.loads(r["components"]),
                _messages(r["reasons"]), _messages(r["gaps"])))
            versions[r["subject_id"]] = r["model_version"]
    return {v: MatchList("shortlist", v, versions[v], tuple(ms)) for v, ms in lists.items()}


@dataclass(frozen=True, slots=True)
class AllocationStage:
    engine: Any
    lists_dir: str
    orders: tuple[tuple[str, int], ...]
    request: Any  # sepadan.allocate.Request
    name: str = "allocation"
    actor: bool = False

    def open(self) -> dict[str, Any]:
        return {}

    def run(self, state: dict[str, Any], part: Partition) -> Any:
        from sepadan import allocate as alloc

        if "allocation" not in state:
            market = alloc.gather_lists(self.engine.matcher, read_lists(Path(self.lists_dir)), self.request,
                                        kept=dict(self.orders))
            state["allocation"] = alloc.solve(self.engine, market, self.request)
        a = state["allocation"]
        if part.key == "proposals":
            return table([{"vacancy_id": p.vacancy_id, "worker_id": p.worker_id, "region": p.region,
                           "score": p.score, "rank": p.rank, "model_version": a.model_version}
                          for p in a.proposals], _schema("proposals"))
        return table([{"vacancy_id": u.vacancy_id, "positions": u.positions, "unfilled": u.unfilled, "why": u.why,
                       "taken_by": json.dumps(list(u.taken_by)),
                       "courses": json.dumps([asdict(c) for c in u.courses], ensure_ascii=False)}
                      for u in a.unfilled], _schema("unfilled"))


def _schema(kind: str) -> Any:
    import pyarrow as pa

    if kind == "proposals":
        return pa.schema([("vacancy_id", pa.string()), ("worker_id", pa.string()), ("region", pa.string()),
                          ("score", pa.float64()), ("rank", pa.int32()), ("model_version", pa.string())])
    return pa.schema([("vacancy_id", pa.string()), ("positions", pa.int64()), ("unfilled", pa.int64()),
                      ("why", pa.string()), ("taken_by", pa.string()), ("courses", pa.string())])


@dataclass(frozen=True, slots=True)
class GapStage:
    """One region's gap table (``gaps``) or the summaries of every region (``gap-summaries``)."""

    engine: Any
    regions: tuple[str, ...]  # NATIONAL or Kemendagri codes
    name: str = "gaps"
    cache: dict[str, Any] = field(default_factory=dict)  # region -> (summary, rows), shared by both stages
    actor: bool = False

    def open(self) -> None:
        return None

    def report(self, region: str) -> Any:
        from sepadan.planning.demand import Scope, gap_report

        if region not in self.cache:
            scope = Scope(region=None if region == NATIONAL else region)
            self.cache[region] = gap_report(self.engine.market(), scope, lang="en")
        return self.cache[region]

    def run(self, state: None, part: Partition) -> Any:
        import pyarrow as pa

        if self.name == "gap-summaries":
            rows = [{"region": r, **_plain(asdict(self.report(r)[0]))} for r in self.regions[part.lo:part.hi]]
            return pa.Table.from_pylist(rows) if rows else pa.table({"region": pa.array([], pa.string())})
        region = self.regions[part.lo]
        rows = [{"region": region, **asdict(g)} for g in self.report(region)[1]]
        return pa.Table.from_pylist(rows, schema=_gap_schema())


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()}


def _gap_schema() -> Any:
    import pyarrow as pa

    ints = ("vacancies", "positions", "filled", "unfilled", "eligible", "near", "meet", "lacking", "trainings",
            "seats", "with_plan")
    return pa.schema([("region", pa.string()), ("dimension", pa.string()), ("key", pa.string()),
                      ("label", pa.string()), *((name, pa.int64()) for name in ints), ("status", pa.string())])
