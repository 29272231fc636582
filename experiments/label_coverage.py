"""How much of the demo's Indonesian text carries Indonesian ESCO labels, and how the shortlist reads.

    HF_HUB_OFFLINE=1 python experiments/label_coverage.py [--k 10]

Imports the bundled demo data (what ``sepadan demo`` loads) into a temporary home with the real
model, takes the top-k shortlist of every vacancy, and counts the ESCO labels its reasons and gaps
show (each ``skill``/``need`` with a URI): how many have an Indonesian label (after) against none
(before: sepadan had no Indonesian labels, every one was shown in English). It also prints the
compact and the wide view of the V-0042 shortlist at 80 columns and counts their lines. Writes
``experiments/results/labels-coverage.md``, ``.json`` and ``.png``, stamped with the machine, the
date and the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sepadan.cli.render import compact_lines, wide_table  # noqa: E402
from sepadan.config import Settings  # noqa: E402
from sepadan.engine import Engine  # noqa: E402
from sepadan.matching.messages import LABEL_PARAMS  # noqa: E402
from sepadan.matching.output import match_list_json  # noqa: E402

KINDS = ("agencies", "trainings", "workers", "vacancies", "outcomes")


def _stamp() -> dict[str, str]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    return {"date": date.today().isoformat(), "commit": git("rev-parse", "--short", "HEAD"),
            "dirty": str(bool(git("status", "--porcelain", "--", "sepadan", "data"))),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def count(engine: Engine, k: int) -> dict[str, object]:
    labels = engine.lexicon.labels
    shown, distinct, missing = Counter(), {}, Counter()
    for v in engine.matcher.vacancies.records:
        for m in engine.matcher.shortlist(v.id, k=k).results:
            for _, params in (*m.reasons, *m.gaps):
                for text, uri_key in LABEL_PARAMS:
                    uri = params.get(uri_key)
                    if not uri:
                        continue
                    has = labels.indonesian(uri) is not None
                    shown[has] += 1
                    distinct[uri] = has
                    if not has:
                        missing[params[text]] += 1
    total, labelled = sum(shown.values()), shown[True]
    return {"occurrences": total, "with_indonesian": labelled, "share_after": labelled / total if total else 0.0,
            "share_before": 0.0, "distinct": len(distinct), "distinct_with_indonesian": sum(distinct.values()),
            "share_distinct_after": sum(distinct.values()) / len(distinct) if distinct else 0.0,
            "top_missing": missing.most_common(15), "labels_by_source": labels.counts()}


def views(engine: Engine, k: int) -> dict[str, object]:
    from rich.console import Console

    body = match_list_json(engine.matcher.shortlist("V-0042", k=k), lang="id", describe=engine.describe_worker)
    head = engine.describe_vacancy("V-0042")
    title = f"shortlist for V-0042: {head['title']} ({head['country']})"
    compact = compact_lines(body, title=title, id_key="worker_id", extra=("region",), width=80)
    console = Console(width=80, record=True, file=open(os.devnull, "w"))
    console.print(wide_table(body, title=title, id_key="worker_id", extra=("region",)))
    wide = console.export_text().splitlines()
    return {"compact_lines": len(compact) + 1, "wide_lines": len(wide) + 1, "compact": compact}


def chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    c = result["coverage"]
    names = ["label occurrences", "distinct labels"]
    before, after = [0.0, 0.0], [c["share_after"], c["share_distinct_after"]]
    x = range(len(names))
    a.bar([i - 0.2 for i in x], before, width=0.4, label="before (no Indonesian labels)", color="#bbbbbb")
    a.bar([i + 0.2 for i in x], after, width=0.4, label="after", color="#2a7ab0")
    a.set_xticks(list(x), names)
    a.set_ylim(0, 1.05)
    a.set_ylabel("share shown in Indonesian")
    a.set_title(f"demo shortlists (top {result['k']}, {c['occurrences']:,} labels)")
    a.legend(loc="lower right", fontsize=8)
    src = c["labels_by_source"]
    b.barh(list(src), list(src.values()), color="#2a7ab0")
    b.set_title("rows in data/labels/esco_id.tsv")
    for i, v in enumerate(src.values()):
        b.text(v, i, f" {v:,}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def report(result: dict, out: Path) -> None:
    c, v, s = result["coverage"], result["views"], result["stamp"]
    lines = [
        "# Indonesian labels in the demo's text", "",
        f"{s['date']}, commit {s['commit']} (uncommitted changes: {s['dirty']}), {s['machine']}, "
        f"load {s['load']}. `experiments/label_coverage.py --k {result['k']}`: the bundled demo data, the "
        "real model, the top-k shortlist of every vacancy.", "",
        "| | before | after |", "|---|---|---|",
        f"| ESCO labels shown in the reasons and gaps | {c['occurrences']:,} | {c['occurrences']:,} |",
        f"| ... with an Indonesian label | 0 (0%) | {c['with_indonesian']:,} ({c['share_after']:.1%}) |",
        f"| distinct concepts shown | {c['distinct']:,} | {c['distinct']:,} |",
        f"| ... with an Indonesian label | 0 (0%) | {c['distinct_with_indonesian']:,} "
        f"({c['share_distinct_after']:.1%}) |", "",
        "Before this change sepadan had no Indonesian labels: every ESCO label in Indonesian text was "
        "English. Labels still shown in English (most frequent first): "
        + (", ".join(f"{label} ({n})" for label, n in c["top_missing"]) or "none") + ".", "",
        "Rows of the labels file by kind and source: "
        + ", ".join(f"{k} {n:,}" for k, n in c["labels_by_source"].items()) + ".", "",
        f"## The V-0042 shortlist at 80 columns (top {result['k']})", "",
        f"Compact (default): {v['compact_lines']} lines; `--wide`: {v['wide_lines']} lines.", "",
        "```", *v["compact"], "```", "",
        "![coverage](labels-coverage.png)", "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--results", type=Path, default=REPO / "experiments" / "results")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        engine = Engine(Settings(home=Path(home)))  # today, as `sepadan demo`
        for kind in KINDS:
            engine.import_file(kind, REPO / "data" / "demo" / f"{kind}.jsonl")
        engine.build()
        result = {"k": args.k, "stamp": _stamp(), "coverage": count(engine, args.k), "views": views(engine, args.k)}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "labels-coverage.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    chart(result, args.results / "labels-coverage.png")
    report(result, args.results / "labels-coverage.md")
    print((args.results / "labels-coverage.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
