"""The filtered-search planner's switch points, read off the index benchmark's measurements.

    python experiments/planner_thresholds.py speed-index speed-index-1m

For every size, share of allowed rows and ANN kind in the named result files (bench_index.py, run
with its pass without the planner), the exact search in place over the allowed rows against the
ANN search with the filter inside: time per query and recall@10 by ids, measured in the same run.
The faster path wins where its recall is at least ``--min-recall`` (the exact path's is 1). The
table, the switch points and a chart go to experiments/results/speed-index-planner.{md,png}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "experiments" / "results"
RECALL = "recall@10 (ids)"


def rows_of(result: dict[str, Any], min_recall: float) -> list[dict[str, Any]]:
    """One row per size, share and ANN kind: both paths and the winner."""
    out = []
    for size in result["sizes"]:
        planned = {(r["allowed"], r["index"]): r for r in size["selectivity"]}
        exact = {r["allowed"]: r for r in size["selectivity"] if r["index"] == "exact"}
        for raw in size.get("selectivity_raw", []):
            if raw["allowed_rows"] >= size["workers"]:
                continue  # nothing filtered: no choice to make
            ex = planned.get((raw["allowed"], raw["index"]))
            ex = ex if ex is not None and ex["plan"].startswith("exact") else exact[raw["allowed"]]
            ann_ok = raw[RECALL] >= min_recall
            out.append({"workers": size["workers"], "allowed": raw["allowed"], "allowed_rows": raw["allowed_rows"],
                        "index": raw["index"], "exact ms": ex["ms/query"], "ANN + filter ms": raw["ms/query"],
                        "ANN + filter recall@10": raw[RECALL],
                        "faster": "ANN + filter" if ann_ok and raw["ms/query"] < ex["ms/query"] else "exact",
                        "exact x flat over allowed": ex["x flat over allowed"],
                        "exact, first query on a mask ms": ex.get("first query on a mask ms", "-"),
                        "load": size["machine_start"]["load_average"][0]})
    return out


def switch_points(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size and kind: the most rows and the largest share at which exact still won, and the
    fewest rows and smallest share from which ANN won at every larger share."""
    out = []
    for key in dict.fromkeys((r["workers"], r["index"]) for r in rows):
        mine = sorted((r for r in rows if (r["workers"], r["index"]) == key), key=lambda r: r["allowed_rows"])
        ann_from = None
        for i, r in enumerate(mine):
            if all(x["faster"] == "ANN + filter" for x in mine[i:]):
                ann_from = r
                break
        exact_upto = [r for r in mine if ann_from is None or r["allowed_rows"] < ann_from["allowed_rows"]]
        out.append({"workers": key[0], "index": key[1],
                    "exact wins up to (rows, share)": (f"{exact_upto[-1]['allowed_rows']:,} ({exact_upto[-1]['allowed']})"
                                                       if exact_upto else "-"),
                    "ANN wins from (rows, share)": (f"{ann_from['allowed_rows']:,} ({ann_from['allowed']})"
                                                    if ann_from else "never below 100%")})
    return out


def kind_of(name: str) -> str:
    """The index kind a benchmark name stands for (hnsw32-sq8-efc40 -> hnsw_sq8)."""
    base = "ivf" if name.startswith("ivf") else "hnsw" if name.startswith("hnsw") else "flat"
    return f"{base}_sq8" if "sq8" in name else base


def against_plan(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Each measured cell against the choice of the planner's switch points (PLAN in
    sepadan/matching/index.py), with the time a wrong choice costs."""
    from sepadan.matching.index import PLAN

    out, agree = [], 0
    for r in rows:
        most, share = PLAN[kind_of(r["index"])]
        exact = r["allowed_rows"] <= most or r["allowed_rows"] < share * r["workers"]
        chosen = "exact" if exact else "ANN + filter"
        agree += chosen == r["faster"]
        if chosen != r["faster"]:
            took = r["exact ms"] if exact else r["ANN + filter ms"]
            best = r["ANN + filter ms"] if exact else r["exact ms"]
            out.append({"workers": r["workers"], "allowed": r["allowed"], "index": r["index"], "planned": chosen,
                        "measured faster": r["faster"], "ms lost a query": round(took - best, 3),
                        "recall of the planned path": 1.0 if exact else r["ANN + filter recall@10"]})
    return out, agree


def table(rows: list[dict[str, Any]]) -> list[str]:
    keys = list(rows[0])
    return ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)] + [
        "| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]


def chart(rows: list[dict[str, Any]], stem: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["workers"] for r in rows})
    fig, axes = plt.subplots(2, len(sizes), figsize=(6 * len(sizes), 7), squeeze=False)
    for col, n in enumerate(sizes):
        mine = [r for r in rows if r["workers"] == n]
        first = mine[0]["index"]
        ex = [r for r in mine if r["index"] == first]
        axes[0][col].plot([r["allowed_rows"] / n for r in ex], [r["exact ms"] for r in ex], "k-o",
                          label="exact in place over the allowed rows")
        for name in dict.fromkeys(r["index"] for r in mine):
            kind = [r for r in mine if r["index"] == name]
            x = [r["allowed_rows"] / n for r in kind]
            axes[0][col].plot(x, [r["ANN + filter ms"] for r in kind], marker="s", label=f"{name}: ANN + filter")
            axes[1][col].plot(x, [r["ANN + filter recall@10"] for r in kind], marker="s", label=name)
        axes[0][col].set(xscale="log", yscale="log", title=f"{n:,} rows: ms per query by path",
                         xlabel="share of rows allowed")
        axes[1][col].set(xscale="log", title=f"{n:,} rows: ANN + filter recall@10 (ids)",
                         xlabel="share of rows allowed", ylim=(0.5, 1.01))
        axes[1][col].axhline(0.95, color="tab:red", linestyle=":")
        axes[0][col].legend(fontsize=7)
        axes[1][col].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=110)
    plt.close(fig)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("stems", nargs="+", help="result files in experiments/results, without .json")
    parser.add_argument("--min-recall", type=float, default=0.99)
    parser.add_argument("--out", default="speed-index-planner")
    opts = parser.parse_args(argv)
    rows = [r for stem in opts.stems for r in rows_of(json.loads((RESULTS / f"{stem}.json").read_text()),
                                                      opts.min_recall)]
    lines = ["# The filtered-search planner: exact in place against ANN with the filter inside", "",
             f"From {', '.join(f'`{s}.json`' for s in opts.stems)} (experiments/bench_index.py; both paths "
             "timed on the same queries in the same run, one at a time, one thread; 'load' is the load "
             f"average at the start on 2 shared cores). ANN wins a cell when it is faster and its recall@10 "
             f"by ids is at least {opts.min_recall}. The exact path is timed as a cached mask is searched, "
             "again and again (from its second search on over a contiguous copy of its rows); its first "
             "search, in place, is shown beside it and not used for the choice.", ""]
    lines += table(rows) + ["", "## Switch points", ""] + table(switch_points(rows))
    from sepadan.matching.index import PLAN

    wrong, agree = against_plan(rows)
    lines += ["", "## The rule (PLAN in sepadan/matching/index.py)", "",
              "A filtered query is searched exactly when at most *rows* are allowed or under *share* of the "
              "index; above both, by the ANN index with the filter inside (and exactly if that comes back "
              "short).", "", "| kind | rows | share |", "|---|---|---|"]
    lines += [f"| {kind} | {most:,} | {share:.0%} |" for kind, (most, share) in PLAN.items()]
    lines += ["", f"The rule picks the measured faster path (at recall >= {opts.min_recall}) in {agree} of "
              f"{len(rows)} cells above; where it does not:", ""]
    lines += table(wrong) if wrong else ["(none)"]
    lines += ["", f"![paths]({opts.out}.png)", ""]
    (RESULTS / f"{opts.out}.md").write_text("\n".join(lines))
    chart(rows, opts.out)


if __name__ == "__main__":
    main(sys.argv[1:])
