"""Train a learned ranker on the stored outcomes: the same code as ``sepadan train``.

    python experiments/train_ranker.py --home .sepadan            # train, compare, register
    python experiments/train_ranker.py --home .sepadan --no-promote --alpha 0.01
    python experiments/train_ranker.py --home .sepadan --results experiments/results
    python experiments/train_ranker.py models show 1 --home .sepadan

With no sub-command it runs ``train``; ``models list|show|promote|rollback`` work too. Runs go to
MLflow (experiment ``sepadan-ranker``, registered model ``sepadan-ranker``) at
``$MLFLOW_TRACKING_URI``, else ``sqlite:///HOME/mlflow.db`` with artifacts in ``HOME/mlartifacts``.
``--results DIR`` also writes ``DIR/ranker-demo.json`` (what ``sepadan train --json`` prints, with
the machine, date and commit), ``DIR/ranker-demo.md`` (the tables ``sepadan train`` prints, from
``sepadan.models.summary``: held-out figures and differences, the figures cross-validated over all
vacancies, Skew@10 per group cross-validated, the "Where we aim" table of issue 16 item 5; then how
the blend with the transparent score was chosen) and ``DIR/ranker-demo.png`` (hires in the eligible
top 10 and 30, naive and IPS, against transparent-1; the differences with their intervals,
held-out and cross-validated; Skew@10 per group cross-validated). The demo's figures are made with
``--today 2026-11-01``, the date the generator ran its hiring process on.

The demo outcomes are synthetic (``sepadan/demo_hiring.py``): figures trained on them say how well
the ranker recovers the generator's hidden preference, nothing about real placements.
"""

from __future__ import annotations

import contextlib
import io
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

def main(argv: list[str]) -> None:
    from sepadan import cli
    from sepadan.cli.models import register

    if not any(c.name == "train" for c in cli.app.registered_commands):
        register(cli.app)
    results = None
    if "--results" in argv:
        at = argv.index("--results")
        results, argv = Path(argv[at + 1]), argv[:at] + argv[at + 2:]
    args = argv if argv and argv[0] in ("train", "models") else ["train", *argv]
    if results is None:
        sys.argv = ["sepadan", *args]
        cli.main()
        return
    buffer = io.StringIO()
    sys.argv = ["sepadan", *args, "--json"]
    with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
        cli.main()
    body = json.loads(buffer.getvalue())
    write(results, body)


def write(folder: Path, body: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine(),
             "python": platform.python_version(), "commit": _commit()}
    (folder / "ranker-demo.json").write_text(json.dumps({**stamp, **body}, indent=2) + "\n", encoding="utf-8")
    (folder / "ranker-demo.md").write_text(markdown(body, stamp), encoding="utf-8")
    chart(body).savefig(folder / "ranker-demo.png")
    sys.stdout.write(markdown(body, stamp))


def chart(body: dict):
    """Left: hires in the eligible top 10 and 30, naive and IPS, for the new version and
    transparent-1 on the held-out vacancies, the 90% interval of the difference written on the bars.
    Right: the differences at 10 and in NDCG@10 with their 90% intervals, held-out and
    cross-validated over all vacancies, against zero. Below: mean Skew@10 per group cross-validated
    over all vacancies, learned and transparent, with the number of vacancies each mean is over
    (pale: fewer than the minimum, not judged)."""
    from matplotlib.figure import Figure

    keys = ("shortlist_recall_at_10", "ips_recall_at_10", "shortlist_recall_at_30", "ips_recall_at_30")
    labels = ("top 10, naive", "top 10, IPS", "top 30, naive", "top 30, IPS")
    fig = Figure(figsize=(13, 9), dpi=100)
    grid = fig.add_gridspec(2, 2, width_ratios=[1.6, 1], height_ratios=[1, 1.1])
    ax, side, groups = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])
    _differences_panel(side, body)
    _groups_panel(groups, body)
    xs = range(len(keys))
    for shift, (system, name, colour) in zip((-0.2, 0.2), (("ranker", body["version"], "#2a7ab9"),
                                                           ("transparent", "transparent-1", "#9a9a9a"))):
        values = [body[system].get(k, float("nan")) for k in keys]
        ax.bar([x + shift for x in xs], values, width=0.4, label=name, color=colour)
        for x, v in zip(xs, values):
            ax.text(x + shift, v + 0.01, f"{v:.2f}", ha="center", fontsize=8)
    d = body["difference"]
    for x, key in zip(xs, keys):
        if f"delta_{key}" in d:
            ax.text(x, 0.03, f"diff {d[f'delta_{key}']:+.3f}\n[{d[f'delta_{key}_p05']:+.3f}, {d[f'delta_{key}_p95']:+.3f}]",
                    ha="center", fontsize=7, color="white")
    ax.axhline(0.5, color="#c0392b", linestyle="--", linewidth=1, label="target at top 10 (0.5)")
    ax.set_xticks(list(xs), labels)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of a held-out vacancy's hires")
    ax.set_title(f"{body['version']} vs transparent-1 on the demo outcomes (held-out vacancies)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def _differences_panel(ax, body: dict) -> None:
    from sepadan.models.summary import AIM

    cv, d = body.get("cv", {}), body["difference"]
    for shift, (source, prefix, colour, name) in zip((-0.15, 0.15), (
            (d, "delta_", "#2a7ab9", "held-out split"), (cv, "cv_all/delta_", "#e67e22", "5-fold CV, all vacancies"))):
        for y, (key, _) in enumerate(AIM):
            if f"{prefix}{key}" not in source:
                continue
            mid, low, high = (source[f"{prefix}{key}{tail}"] for tail in ("", "_p05", "_p95"))
            ax.errorbar(mid, y + shift, xerr=[[mid - low], [high - mid]], fmt="o", color=colour, capsize=3,
                        label=name if y == 0 else None)
            ax.text(high + 0.004, y + shift, f"{mid:+.3f} [{low:+.3f}, {high:+.3f}]", va="center", fontsize=7)
    ax.axvline(0.0, color="#c0392b", linewidth=1)
    ax.set_yticks(range(len(AIM)), [label for _, label in AIM], fontsize=8)
    ax.set_xlabel(f"{body['version']} minus transparent-1 (90% paired bootstrap interval)")
    ax.set_title("differences: the interval must exclude zero", fontsize=9)
    ax.set_ylim(-0.5, len(AIM) - 0.5)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=7)
    ax.margins(x=0.45)


def _groups_panel(ax, body: dict) -> None:
    from sepadan.models.summary import ATTRIBUTES

    cv, least = body.get("cv", {}), int(body.get("config", {}).get("skew_min_vacancies", 0))
    bars = []
    for attr, label in ATTRIBUTES:
        prefix = f"cv_all/ranker/skew_at_10/{attr}/"
        for group in sorted({k[len(prefix):] for k in cv if k.startswith(prefix) and k.count("/") == 4}
                            - {"max_abs", "max_abs_all"}):
            key = f"skew_at_10/{attr}/{group}"
            bars.append((f"{label}\n{group}", cv[f"cv_all/ranker/{key}"], cv.get(f"cv_all/transparent/{key}"),
                         int(cv.get(f"cv_all/ranker/{key}/vacancies", 0))))
    if not bars:
        ax.set_axis_off()
        return
    xs = range(len(bars))
    for shift, index, colour, name in ((-0.2, 1, "#2a7ab9", "learned (CV)"), (0.2, 2, "#9a9a9a", "transparent-1")):
        for x, bar in zip(xs, bars):
            judged = bar[3] >= least
            ax.bar(x + shift, bar[index] or 0.0, width=0.4, color=colour, alpha=1.0 if judged else 0.3,
                   label=name if x == 0 else None)
    low = min(min(b[1], b[2] or 0.0) for b in bars)
    for x, bar in zip(xs, bars):
        ax.text(x, low - 0.08, f"{bar[3]}", ha="center", fontsize=7)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(list(xs), [b[0] for b in bars], fontsize=7)
    ax.set_ylim(low - 0.15, max(0.3, max(max(b[1], b[2] or 0.0) for b in bars) + 0.1))
    ax.set_ylabel("mean Skew@10 (0 is parity)")
    ax.set_title(f"exposure in the top 10 per group, cross-validated over all vacancies; number: vacancies the "
                 f"mean is over (pale: under {least}, not judged)", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)


def selection_lines(body: dict) -> list[str]:
    """The candidates' figures on the training part's validation folds (how the blend was chosen)."""
    cv = body.get("cv", {})
    names = sorted({k.split("/")[1] for k in cv if k.startswith("select/") and k.count("/") >= 2})
    if not names:
        return []
    cols = (("ndcg_at_10", "NDCG@10"), ("delta_ndcg_at_10_p05", "NDCG gain, lower end"),
            ("shortlist_recall_at_10", "top 10 naive"), ("ips_recall_at_10", "top 10 IPS"),
            ("skew_at_10/age_band/max_abs", "max abs Skew@10 age"), ("skew_at_10/gender/max_abs", "gender"),
            ("fair", "fair"))
    lines = [f"## How the blend was chosen (validation folds of the training part only; chosen anchor weight "
             f"{cv.get('select/anchor_weight', float('nan')):.2f})", "",
             "| anchor weight | " + " | ".join(c for _, c in cols) + " |", "|---|" + "---:|" * len(cols)]
    for name in ["transparent", *[n for n in names if n != "transparent"]]:
        cells = [cv.get(f"select/{name}/{key}") for key, _ in cols]
        lines.append(f"| {name} | " + " | ".join(
            "-" if c is None else ("yes" if c == 1.0 else "no") if key == "fair" else f"{c:.3f}"
            for c, (key, _) in zip(cells, cols)) + " |")
    return lines + [""]


def markdown(body: dict, stamp: dict) -> str:
    """The result file: the tables ``sepadan train`` prints (:mod:`sepadan.models.summary`), the
    decision and its reason, the weights, and how the blend was chosen."""
    from sepadan.models import summary

    lines = [f"# Learned ranker on the demo outcomes ({body['version']})", "",
             f"{stamp['date']}, commit {stamp['commit']}, {stamp['machine']}, Python {stamp['python']}; "
             f"data digest `{body['data_digest'][:16]}`; trained on {body.get('train_vacancies', '?')} vacancies, "
             f"{body.get('held_out_vacancies', '?')} held out.", "",
             f"**Decision**: {body['reason']}", ""]
    for table in summary.tables(body):
        lines += [f"## {table.title}", "", "| " + " | ".join(table.columns) + " |",
                  "|" + "|".join("---" if i == 0 or c in ("attribute", "group") else "---:"
                                 for i, c in enumerate(table.columns)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in table.rows] + [""]
    rates = {k: v for k, v in body["hire_rates"].items() if k.startswith("hire_rate_parity")}
    weights = [v for k, v in sorted(body.get("cv", {}).items()) if k.startswith("cv_all/anchor_weight/")]
    lines += ["Hire-rate parity among shown candidates (lowest group rate / highest): "
              + ", ".join(f"{k.split('/')[1]} {v:.2f}" for k, v in rates.items()), "",
              "Weights (non-negative, sum to 1): " + ", ".join(
                  f"{n} {w:.3f}" for n, w in sorted(body["weights"].items(), key=lambda kv: -kv[1]) if w > 0), ""]
    if weights:
        lines += ["Anchor weight (share of the transparent score) chosen per cross-validation fold: "
                  + ", ".join(f"{w:.2f}" for w in weights), ""]
    lines += selection_lines(body)
    return "\n".join(lines)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main(sys.argv[1:])
