"""Command-line wall time on the demo data (issue 15, item 1): what a person at a terminal, or an
officer's tool that shells out, waits for.

    python experiments/bench_cli.py [--runs 10] [--baseline COMMIT]

Builds a demo home once (``sepadan demo``), then times ``sepadan --help`` and
``sepadan shortlist V-0042`` as fresh processes, with the wall and CPU time of each run, whether the
model was loaded and whether profiles were computed (from the ``-v`` log). With ``--baseline`` the
same commands run from a worktree of that commit, on a copy of the same home, interleaved with this
tree's runs, so the ratio is taken on the same machine under the same load.

Writes experiments/results/speed-cli.md, .json and .png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
COMMANDS = {"help": ["--help"], "shortlist": ["shortlist", "V-0042"]}
TARGETS = {"help": 0.5, "shortlist": 3.0}


def run(tree: Path, home: Path, args: list[str]) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(tree), "SEPADAN_HOME": str(home)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sepadan.cli", "-v", *args], env=env, cwd=tree,
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed in {tree}:\n{done.stderr[-3000:]}")
    log = done.stderr
    return {"wall_s": round(wall, 3), "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime
                                                     - before.ru_stime, 3),
            "model_loaded": "loaded model" in log, "profiled": "profile workers" in log
            or "profiling " in log, "rebuilt_index": "rebuilding the" in log}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def summary(rows: list[dict]) -> dict:
    walls = sorted(r["wall_s"] for r in rows)
    return {"runs": len(rows), "wall_p50_s": round(statistics.median(walls), 3),
            "wall_max_s": walls[-1], "cpu_p50_s": round(statistics.median(r["cpu_s"] for r in rows), 3),
            "model_loaded_runs": sum(r["model_loaded"] for r in rows),
            "profiled_runs": sum(r["profiled"] for r in rows),
            "rebuilt_runs": sum(r["rebuilt_index"] for r in rows)}


def commit(tree: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=tree, capture_output=True,
                          text=True).stdout.strip()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline", help="a commit to compare with (run from a git worktree)")
    parser.add_argument("--home", type=Path, help="a demo home to use (default: built in a temporary folder)")
    opts = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="sepadan-bench-cli-"))
    home = opts.home or work / "home"
    trees = {"this tree": ROOT}
    homes = {"this tree": home}
    try:
        if opts.home is None:
            print("building the demo home ...", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "sepadan.cli", "demo", "--home", str(home)], check=True,
                           env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=ROOT, capture_output=True)
        run(ROOT, home, COMMANDS["shortlist"])  # any first-run work (a model card, stored profiles)
        if opts.baseline:
            old = work / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", str(old), opts.baseline], cwd=ROOT, check=True,
                           capture_output=True)
            trees[f"baseline {opts.baseline}"] = old
            homes[f"baseline {opts.baseline}"] = work / "home-baseline"
            shutil.copytree(home, homes[f"baseline {opts.baseline}"])
            run(old, homes[f"baseline {opts.baseline}"], COMMANDS["shortlist"])
        load_start = os.getloadavg()
        rows: dict[str, dict[str, list[dict]]] = {t: {c: [] for c in COMMANDS} for t in trees}
        for i in range(opts.runs):
            for name, tree in trees.items():
                for command, args in COMMANDS.items():
                    rows[name][command].append(run(tree, homes[name], args))
            print(f"run {i + 1}/{opts.runs}", file=sys.stderr)
        result = {"machine": f"{_cpu()}, {os.cpu_count()} cores",
                  "commit": commit(ROOT), "load_average_start": load_start, "load_average_end": os.getloadavg(),
                  "python": platform.python_version(), "runs": rows,
                  "summary": {t: {c: summary(r) for c, r in by.items()} for t, by in rows.items()},
                  "targets_s": TARGETS}
        write(result)
    finally:
        if opts.baseline:
            subprocess.run(["git", "worktree", "remove", "--force", str(work / "baseline")], cwd=ROOT,
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed-cli.json").write_text(json.dumps(result, indent=2))
    s = result["summary"]
    lines = ["# speed: the command line on the demo data", "",
             f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, commit `{result['commit']}`, "
             f"{result['machine']}, Python {result['python']}, load average "
             f"{[round(x, 2) for x in result['load_average_start']]} at the start and "
             f"{[round(x, 2) for x in result['load_average_end']]} at the end (2 cores shared with other "
             "work: above 2 processes waited for a core, and wall time grows with the load; CPU time "
             "(user + system of the process) much less so). Each run is a fresh process "
             "(`python -m sepadan.cli -v ...`, the demo home from `sepadan demo`), runs interleaved.", "",
             "| tree | command | runs | wall p50 (s) | wall max (s) | CPU p50 (s) | target (s) | met (p50) "
             "| runs that loaded the model | runs that profiled | runs that rebuilt an index |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for tree, by in s.items():
        for command, m in by.items():
            target = result["targets_s"][command]
            lines.append(f"| {tree} | `sepadan {' '.join(COMMANDS[command])}` | {m['runs']} | {m['wall_p50_s']:.2f} "
                         f"| {m['wall_max_s']:.2f} | {m['cpu_p50_s']:.2f} | {target} | "
                         f"{'yes' if m['wall_p50_s'] <= target else 'no'} | {m['model_loaded_runs']} | "
                         f"{m['profiled_runs']} | {m['rebuilt_runs']} |")
    trees = list(s)
    if len(trees) == 2:
        lines += ["", "Ratios, baseline over this tree (p50 wall, same run): " + ", ".join(
            f"`{c}` {s[trees[1]][c]['wall_p50_s'] / max(s[trees[0]][c]['wall_p50_s'], 1e-6):.1f}x"
            for c in COMMANDS)]
    lines += ["", "How: profiles and vectors are stored beside the indexes (`index/<side>/v*/profiles.jsonl`, "
              "checked by the manifest) and read back while the data and inputs are unchanged; the model "
              "loads only for a phrase that is not cached (its name and dimension from "
              "`index/model-card.json`); `sepadan/__init__.py` and the CLI import the engine only for a "
              "command that needs it. A shortlist from stored profiles also builds no taxonomy label "
              "index (built on the first label lookup), imports no scikit-learn (the ranker module only "
              "when a learned ranker is loaded, the title BM25's stop words on the first title read) and "
              "no allocation modules (only for `--exclusive`); `--help` imports neither the settings nor "
              "the data contract (pydantic).", "", "![wall time](speed-cli.png)", ""]
    (RESULTS / "speed-cli.md").write_text("\n".join(lines))
    chart(result)


def chart(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(COMMANDS), figsize=(9, 3.6))
    for ax, command in zip(axes, COMMANDS):
        names = list(result["runs"])
        data = [[r["wall_s"] for r in result["runs"][t][command]] for t in names]
        ax.boxplot(data)
        ax.set_xticks(range(1, len(names) + 1), [n.replace("baseline ", "baseline\n") for n in names])
        ax.axhline(result["targets_s"][command], color="tab:red", linestyle="--", label="target")
        ax.set_title(f"sepadan {' '.join(COMMANDS[command])}")
        ax.set_ylabel("wall time (s)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(RESULTS / "speed-cli.png", dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1:])
