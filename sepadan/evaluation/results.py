"""Benchmark results: one record per run, written as markdown, JSON and a PNG chart, stamped with
the machine, the date and the git commit."""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sepadan.errors import SepadanError

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
EMPTY_LIMIT = 0.05


class EmptyBenchmark(SepadanError):
    """Too many queries had no eligible candidate: the result would measure nothing."""


@dataclass
class Result:
    """A table of systems by metrics for one benchmark on one data set."""

    name: str
    task: str
    dataset: str
    metrics: list[str]
    table: dict[str, dict[str, float]]
    queries: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    aims: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, list[tuple[str, float]]] = field(default_factory=dict, repr=False)
    extra_tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stamp: dict[str, Any] = field(default_factory=dict)
    # queries with an empty result: {"by_system": {system: n}, "no_candidate": n, "hint": text}
    empty: dict[str, Any] = field(default_factory=dict)
    layout: str = "systems"  # systems: a row per system; measures: a row per metric (speed)

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body.pop("run")
        return body

    def flat_metrics(self) -> dict[str, float]:
        """``{system/metric: value}`` with MLflow-safe names."""
        out = {}
        for system, values in self.table.items():
            for metric, value in values.items():
                if isinstance(value, (int, float)) and value == value:
                    out[_safe(f"{system}/{metric}")] = float(value)
        return out


def aim(what: str, value: float | None, target: str, met: bool | None) -> dict[str, Any]:
    """One line of "where we aim": the measured value, the target and whether it is met."""
    return {
        "aim": what,
        "measured": value,
        "target": target,
        "met": None if met is None else bool(met),
    }


def empty_counts(runs: Mapping[str, Mapping[str, Sequence[Any]]], queries: Iterable[str]
                 ) -> dict[str, int]:
    """``{system: queries whose ranking is empty}``; a query missing from a run counts as empty."""
    ids = list(queries)
    return {system: sum(1 for q in ids if not run.get(q)) for system, run in runs.items()}


def check_empty(result: Result, *, allow: bool, limit: float = EMPTY_LIMIT) -> None:
    """Refuse a result where more than ``limit`` of the queries had no eligible candidate.

    ``result.empty["no_candidate"]`` is the count; with ``allow`` the result passes and its notes
    say how many. A benchmark without queries is refused the same way.
    """
    n, k = result.queries, int(result.empty.get("no_candidate", 0))
    share = k / n if n else 1.0
    if share <= limit:
        return
    what = (f"{k} of {n} queries ({share:.1%}) have no eligible candidate" if n
            else "no queries to measure")
    if not allow:
        hint = result.empty.get("hint")
        raise EmptyBenchmark(
            f"{result.name}: {what}, more than {limit:.0%}; the scores would measure nothing"
            + (f" ({hint})" if hint else "")
            + "; pass --allow-empty to write the result anyway"
        )
    result.notes.append(f"written with --allow-empty: {what} (limit {limit:.0%})")
    log.warning("%s: %s, written because --allow-empty was given", result.name, what)


def empty_line(result: Result) -> str | None:
    """One sentence: how many queries had an empty result, per system, and no eligible candidate."""
    if not result.empty:
        return None
    by = result.empty.get("by_system") or {}
    parts = ", ".join(f"{system} {n:,}" for system, n in by.items())
    k = int(result.empty.get("no_candidate", 0))
    share = f" ({k / result.queries:.1%})" if result.queries else ""
    head = f"Queries with an empty result: {parts}; " if parts else ""
    return f"{head}with no eligible candidate: {k:,}{share}."


def _safe(name: str) -> str:
    """MLflow-safe metric names: ``BM25 (whole text)/NDCG@10`` -> ``BM25_whole_text/NDCG_at_10``."""
    name = name.replace("@", "_at_")
    keep = "".join(c if c.isalnum() or c in "-./" else "_" for c in name)
    return "/".join(re.sub(r"_+", "_", part).strip("_") for part in keep.split("/"))


def machine() -> dict[str, Any]:
    """Where and when a run happened: CPU, cores, memory, load, Python, date, git commit."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory_gb": _memory_gb(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        **git(),
    }


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        return None
    return None


def git() -> dict[str, Any]:
    def run(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {
            "git_commit": run("rev-parse", "HEAD"),
            "git_dirty": bool(
                run("status", "--porcelain", "--untracked-files=normal", "--", "sepadan")
            ),
        }
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}


def markdown(result: Result) -> str:
    s = result.stamp
    lines = [
        f"# {result.task}: {result.dataset}",
        "",
        f"{s.get('date', '')}, commit `{(s.get('git_commit') or 'unknown')[:12]}`"
        f"{' (with uncommitted changes)' if s.get('git_dirty') else ''}, {s.get('cpu', '')}, "
        f"{s.get('cores', '?')} cores, {s.get('memory_gb', '?')} GB, load average "
        f"{s.get('load_average', '?')} at the end.",
        "",
    ]
    if result.queries:
        lines += [f"{result.queries} queries.", ""]
    if (line := empty_line(result)) is not None:
        lines += [line, ""]
    lines += _table(result)
    for title, rows in result.extra_tables.items():
        lines += ["", f"## {title}", "", *_rows_table(rows)]
    if result.aims:
        lines += [
            "",
            "## Where we aim",
            "",
            "| aim | measured | target | met |",
            "|---|---|---|---|",
        ]
        for a in result.aims:
            met = {True: "yes", False: "**no**", None: "n/a"}[a["met"]]
            lines.append(f"| {a['aim']} | {_fmt(a['measured'])} | {a['target']} | {met} |")
    if result.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in result.notes)]
    return "\n".join(lines) + "\n"


def _table(result: Result) -> list[str]:
    if result.layout == "measures":
        systems = list(result.table)
        lines = ["| measure | " + " | ".join(systems) + " |", "|" + "---|" * (len(systems) + 1)]
        lines += [
            "| " + " | ".join([m, *(_fmt(result.table[s].get(m)) for s in systems)]) + " |"
            for m in result.metrics
        ]
        return lines
    best = {
        m: max((v.get(m, float("-inf")) for v in result.table.values()), default=None)
        for m in result.metrics
    }
    head = ["system", *result.metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for system, values in result.table.items():
        cells = []
        for m in result.metrics:
            text = _fmt(values.get(m))
            cells.append(
                f"**{text}**" if values.get(m) is not None and values.get(m) == best[m] else text
            )
        lines.append("| " + " | ".join([system, *cells]) + " |")
    return lines


def _rows_table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(none)"]
    cols = list(dict.fromkeys(c for r in rows for c in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return lines


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def bar_chart(result: Result, path: Path) -> Path:
    """Grouped bars: one group per metric, one bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = list(result.table)
    width = 0.8 / max(len(systems), 1)
    fig, ax = plt.subplots(figsize=(max(7.0, 1.9 * len(result.metrics) + 2), 4.8))
    for i, system in enumerate(systems):
        values = [result.table[system].get(m) or 0.0 for m in result.metrics]
        xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(result.metrics))]
        bars = ax.bar(xs, values, width, label=system)
        ax.bar_label(bars, fmt="%.2f", fontsize=6.5, padding=1)
    ax.set_xticks(range(len(result.metrics)), result.metrics)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{result.task}: {result.dataset} ({result.queries:,} queries)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """Speed: p50 and p99 latency by operation (rows: workers, operation, p50_ms, p99_ms), one
    group per size, log scale, a line at 50 ms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["workers"] for r in rows})
    ops = list(dict.fromkeys(r["operation"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    width = 0.8 / len(ops)
    for ax, pct in zip(axes, ("p50_ms", "p99_ms"), strict=True):
        for i, op in enumerate(ops):
            values = [
                next((r[pct] for r in rows if r["workers"] == n and r["operation"] == op), 0)
                for n in sizes
            ]
            ax.bar(
                [j + (i - (len(ops) - 1) / 2) * width for j in range(len(sizes))],
                values,
                width,
                label=op,
            )
        ax.set_xticks(range(len(sizes)), [f"{n:,}" for n in sizes])
        ax.set_yscale("log")
        ax.axhline(50, color="red", linestyle="--", linewidth=0.8)
        ax.set_title(f"{pct[:3]} latency (ms, log scale; red: 50 ms)", fontsize=10)
        ax.set_xlabel("workers")
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def recall_chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """Speed: recall@10 against the share of eligible workers: the planned search by ids and
    counting ties, and raw HNSW, each where every row of a size has it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for n in sorted({r["workers"] for r in rows}):
        mine = [r for r in rows if r["workers"] == n]
        xs = [r["eligible_rows"] / n for r in mine]
        for key, style in (("planned recall@10", "-o"), ("planned recall@10 counting ties", ":s"),
                           ("raw HNSW recall@10", "--x")):
            if all(key in r for r in mine):
                ax.plot(xs, [r[key] for r in mine], style, label=f"{n:,} workers, {key}")
    ax.set_xscale("log")
    ax.axhline(0.95, color="red", linestyle=":", linewidth=0.8)
    ax.set_xlabel("share of workers eligible (log)")
    ax.set_ylabel("recall@10 against exact")
    ax.set_title("ANN recall under filters, the engine's index and planner (red: 0.95)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(
    result: Result, out_dir: Path, *, charts: list[tuple[str, Any]] | None = None
) -> dict[str, Path]:
    """``<name>.md``, ``<name>.json`` and a chart (``<name>.png``) under ``out_dir``.

    ``charts``: extra ``(suffix, draw(path))`` pairs for results that are not a table of scores.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    result.stamp = result.stamp or machine()
    paths = {"markdown": out_dir / f"{result.name}.md", "json": out_dir / f"{result.name}.json"}
    paths["markdown"].write_text(markdown(result), encoding="utf-8")
    paths["json"].write_text(
        json.dumps(result.to_json(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    if charts is None:
        paths["chart"] = bar_chart(result, out_dir / f"{result.name}.png")
    for suffix, draw in charts or ():
        paths[f"chart-{suffix}"] = draw(out_dir / f"{result.name}-{suffix}.png")
    log.debug("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths
