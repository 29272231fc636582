"""Train a learned ranker on the stored outcomes: the same code as ``sepadan train``.

    python experiments/train_ranker.py --home .sepadan            # train, compare, register
    python experiments/train_ranker.py --home .sepadan --no-promote --alpha 0.01
    python experiments/train_ranker.py --home .sepadan --results experiments/results
    python experiments/train_ranker.py models show 1 --home .sepadan

With no sub-command it runs ``train``; ``models list|show|promote|rollback`` work too. Runs go to
MLflow (experiment ``sepadan-ranker``, registered model ``sepadan-ranker``) at
``$MLFLOW_TRACKING_URI``, else ``sqlite:///HOME/mlflow.db`` with artifacts in ``HOME/mlartifacts``.
``--results DIR`` also writes ``DIR/ranker-demo.json`` (what ``sepadan train --json`` prints, with
the machine, date and commit), ``DIR/ranker-demo.md`` (the headline table, the "Where we aim" table
of issue 16 item 5, the figures cross-validated over all vacancies, and how the blend with the
transparent score was chosen) and ``DIR/ranker-demo.png`` (hires in the eligible top 10 and 30,
naive and IPS, against transparent-1; the differences with their intervals, held-out and
cross-validated). The demo's figures are
made with ``--today 2026-11-01``, the date the generator ran its hiring process on.

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

ROWS = (("ndcg_at_10", "NDCG@10, judged candidates"), ("map", "MAP (hired)"),
        ("shortlist_recall_at_10", "hires in the eligible top 10 (naive)"),
        ("shortlist_recall_at_30", "hires in the eligible top 30 (naive)"),
        ("ips_recall_at_10", "hires in the eligible top 10 (IPS)"),
        ("ips_recall_at_30", "hires in the eligible top 30 (IPS)"),
        ("skew_at_10/gender/max_abs", "max abs Skew@10 gender"), ("ndkl_at_10/gender", "NDKL@10 gender"),
        ("skew_at_10/age_band/max_abs", "max abs Skew@10 age band"), ("ndkl_at_10/age_band", "NDKL@10 age band"),
        ("skew_at_10/province/max_abs", "max abs Skew@10 province"), ("ndkl_at_10/province", "NDKL@10 province"))
GAINS = (("ndcg_at_10", "NDCG@10"), ("shortlist_recall_at_10", "hires in top 10, naive"),
         ("ips_recall_at_10", "hires in top 10, IPS"), ("shortlist_recall_at_30", "hires in top 30, naive"),
         ("ips_recall_at_30", "hires in top 30, IPS"))


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


AIM = (("ndcg_at_10", "NDCG@10"), ("shortlist_recall_at_10", "hires in top 10, naive"),
       ("ips_recall_at_10", "hires in top 10, IPS"))


def chart(body: dict):
    """Left: hires in the eligible top 10 and 30, naive and IPS, for the new version and
    transparent-1 on the held-out vacancies, the 90% interval of the difference written on the bars.
    Right: the differences at 10 and in NDCG@10 with their 90% intervals, held-out and
    cross-validated over all vacancies, against zero."""
    from matplotlib.figure import Figure

    keys = ("shortlist_recall_at_10", "ips_recall_at_10", "shortlist_recall_at_30", "ips_recall_at_30")
    labels = ("top 10, naive", "top 10, IPS", "top 30, naive", "top 30, IPS")
    fig = Figure(figsize=(13, 4.4), dpi=100)
    ax, side = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    _differences_panel(side, body)
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


def aim_table(body: dict) -> list[str]:
    """The "Where we aim" table of issue 16, item 5, from the held-out and cross-validated figures."""
    cv, d, r = body.get("cv", {}), body["difference"], body["ranker"]
    lines = ["## Where we aim (issue 16, item 5)", "",
             "| target | held-out split | met | 5-fold CV, all vacancies | met |", "|---|---|:-:|---|:-:|"]
    for key, label in (("shortlist_recall_at_10", "naive"), ("ips_recall_at_10", "IPS")):
        held, over = r.get(key), cv.get(f"cv_all/ranker/{key}")
        lines.append(f"| >= 0.5 of hires in the top 10, {label} | {_num(held)} | {_met(held, 0.5)} | {_num(over)} | "
                     f"{_met(over, 0.5)} |")
    for key, label in AIM:
        a, b = _interval(d, "delta_", key), _interval(cv, "cv_all/delta_", key)
        lines.append(f"| learned minus transparent, {label}: interval excludes zero (above) | {a[0]} | {a[1]} | "
                     f"{b[0]} | {b[1]} |")
    return lines + [""]


def _num(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def _met(value, floor: float) -> str:
    return "-" if value is None else ("yes" if value >= floor else "no")


def _interval(source: dict, prefix: str, key: str) -> tuple[str, str]:
    if f"{prefix}{key}" not in source:
        return "-", "-"
    mid, low, high = (source[f"{prefix}{key}{tail}"] for tail in ("", "_p05", "_p95"))
    return f"{mid:+.3f} [{low:+.3f}, {high:+.3f}]", "yes" if low > 0 else "no"


def cv_lines(body: dict) -> list[str]:
    """Figures cross-validated over every vacancy with outcomes, and the blend chosen per fold."""
    cv = body.get("cv", {})
    if "cv_all/folds" not in cv:
        return []
    folds = int(cv["cv_all/folds"])
    n = cv.get("cv_all/ranker/shortlist_vacancies_with_hired")
    lines = [f"## Cross-validated over all vacancies with outcomes ({folds} folds by vacancy)", "",
             f"Every vacancy measured once by a ranker made without it (the blend chosen on that ranker's own "
             f"training folds); {int(cv.get('cv_all/vacancies_ndcg_at_10', 0))} vacancies with a graded "
             f"candidate, {int(n or 0)} with hires in their pool.", "",
             "| figure | learned | transparent-1 | difference, 90% interval |", "|---|---:|---:|---|"]
    for key, label in ROWS[:6]:
        a, b = cv.get(f"cv_all/ranker/{key}"), cv.get(f"cv_all/transparent/{key}")
        if a is None:
            continue
        diff = _interval(cv, "cv_all/delta_", key)[0]
        lines.append(f"| {label} | {a:.3f} | {_num(b)} | {'' if diff == '-' else diff} |")
    for key, label in ROWS[6:]:
        a, b = cv.get(f"cv_all/ranker/{key}"), cv.get(f"cv_all/transparent/{key}")
        if a is not None:
            lines.append(f"| {label} | {a:.3f} | {_num(b)} | |")
    weights = [v for k, v in sorted(cv.items()) if k.startswith("cv_all/anchor_weight/")]
    lines += ["", "Anchor weight (share of the transparent score) chosen per fold: "
              + ", ".join(f"{w:.2f}" for w in weights), ""]
    return lines


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
    systems = [("ranker", body["version"]), ("transparent", "transparent-1")]
    if body["champion"] and body["compared_with"] != "transparent-1":
        systems.append(("champion", f"{body['compared_with']} (champion)"))
    lines = [f"# Learned ranker on the demo outcomes ({body['version']})", "",
             f"{stamp['date']}, commit {stamp['commit']}, {stamp['machine']}, Python {stamp['python']}; "
             f"data digest `{body['data_digest'][:16]}`.", "",
             "| figure | " + " | ".join(label for _, label in systems) + " |",
             "|---|" + "---:|" * len(systems)]
    for key, label in ROWS:
        cells = [body[s].get(key) for s, _ in systems]
        lines.append(f"| {label} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")
    lines += ["", f"Differences, {body['version']} minus {body['compared_with']} (90% paired bootstrap "
                  "interval over held-out vacancies):", ""]
    d = body["difference"]
    for key, label in GAINS:
        if f"delta_{key}" in d:
            lines.append(f"- {label}: {d[f'delta_{key}']:+.3f} [{d[f'delta_{key}_p05']:+.3f}, "
                         f"{d[f'delta_{key}_p95']:+.3f}]")
    rates = {k: v for k, v in body["hire_rates"].items() if k.startswith("hire_rate_parity")}
    lines += ["", "Hire-rate parity among shown candidates (lowest group rate / highest): "
              + ", ".join(f"{k.split('/')[1]} {v:.2f}" for k, v in rates.items()), "",
              f"Decision: {body['reason']}", "",
              "Weights (non-negative, sum to 1): " + ", ".join(
                  f"{n} {w:.3f}" for n, w in sorted(body["weights"].items(), key=lambda kv: -kv[1]) if w > 0), ""]
    lines += aim_table(body) + cv_lines(body) + selection_lines(body)
    return "\n".join(lines)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main(sys.argv[1:])
