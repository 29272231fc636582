"""``sepadan batch``: the nightly re-match (local or on Ray), resumable, published atomically.

:func:`register` adds it to the main Typer app (``sepadan/cli/core.py`` calls it once, at the bottom).
An edge over :func:`sepadan.batch.run_batch`: it reads options, shows progress with Rich, prints the
stages and where the results went.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Optional

import typer
from rich.table import Table

from sepadan.cli.common import Home, Today, _engine, err, out


def register(app: typer.Typer) -> None:
    app.command("batch")(batch)


def batch(
    runner: Annotated[str, typer.Option("--runner", help="local (in this process) or ray")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (ray://... or HOST:PORT); "
                                                   "default: start a local Ray for the run")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=4096, help="Ray actors per stage")] = 2,
    num_cpus: Annotated[Optional[int], typer.Option("--num-cpus", min=1, help="CPUs of a local Ray (default: --workers)")] = None,
    object_store: Annotated[Optional[int], typer.Option("--object-store-mb", min=64, help="object store of a local Ray, MB")] = None,
    shards: Annotated[int, typer.Option("--shards", min=1, max=4096, help="worker shards by id range, each with its own exact index")] = 2,
    candidates: Annotated[str, typer.Option("--candidates", help="exact (each shard searched exactly) or ivf "
                                            "(through k-means cells of each shard)")] = "exact",
    nprobe: Annotated[int, typer.Option("--nprobe", min=1, help="--candidates ivf: cells a job order probes "
                                        "(more until enough eligible workers)")] = 6,
    nlist: Annotated[int, typer.Option("--nlist", min=0, help="--candidates ivf: cells per shard "
                                       "(0: about sqrt(workers in the shard) / 2)")] = 0,
    precision: Annotated[str, typer.Option("--precision", help="--candidates ivf: products that pick the candidates, "
                                           "bf16 (re-scored in float32) or float32; auto: bf16 where the CPU has "
                                           "AMX or AVX512-BF16 and it is faster")] = "auto",
    margin: Annotated[int, typer.Option("--margin", min=0, max=10_000, help="--candidates ivf, bf16: workers an "
                                        "order keeps beyond k for the float32 re-scoring")] = 16,
    rec_margin: Annotated[int, typer.Option("--rec-margin", min=0, max=10_000, help="--candidates ivf, bf16: "
                                            "orders a worker keeps beyond its recommendations")] = 6,
    k: Annotated[int, typer.Option("-k", min=1, max=500, help="shortlist length per job order (at least 2 per position)")] = 30,
    recommendations: Annotated[int, typer.Option("--recommendations", min=1, max=200, help="job orders per worker")] = 10,
    run_id: Annotated[Optional[str], typer.Option("--run-id", help="name of the run; the same id continues an unfinished run")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="continue the newest unfinished run")] = False,
    retries: Annotated[int, typer.Option("--retries", min=0, max=20, help="retries of a failed partition")] = 2,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="rebuild the indexes even if up to date")] = False,
    no_allocate: Annotated[bool, typer.Option("--no-allocate", help="skip the allocation across job orders")] = False,
    no_gaps: Annotated[bool, typer.Option("--no-gaps", help="skip the planners' gap tables")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the manifest")] = False,
    today: Today = None,
    home: Home = None,
) -> None:
    """The nightly re-match: new phrases, indexes, every shortlist and recommendation, the allocation and
    the gap tables, as Parquet under HOME/batch/RUN_ID with a manifest; CURRENT names the last complete run."""
    from sepadan.batch import BatchOptions, make_runner, run_batch
    from sepadan.batch.vectors import CellOptions

    if candidates not in ("exact", "ivf"):
        raise typer.BadParameter("exact or ivf", param_hint="--candidates")
    if precision not in ("auto", "bf16", "float32"):
        raise typer.BadParameter("auto, bf16 or float32", param_hint="--precision")
    options = BatchOptions(shards=shards, k=k, recommendations=recommendations, retries=retries, rebuild=rebuild,
                           allocate=not no_allocate, gaps=not no_gaps, candidates=candidates,
                           cells=CellOptions(nlist=nlist, nprobe=nprobe, precision=precision, margin=margin,
                                             rec_margin=rec_margin))
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # the stages' progress is ours
    with _engine(home, today) as engine:
        chosen = make_runner(runner, address=address, workers=workers, num_cpus=num_cpus,
                             object_store_memory=object_store * 2**20 if object_store else None)
        try:
            result = run_batch(engine, runner=chosen, options=options, run_id=run_id, resume=resume,
                               progress=engine.progress)
        finally:
            chosen.close()
    if as_json:
        out.print_json(json.dumps(result.manifest, default=str))
        return
    table = Table(title=f"batch run {result.run_id} ({chosen.name})")
    for col in ("stage", "where", "parts", "new", "skip", "rows", "s", "retry"):
        table.add_column(col, justify="left" if col in ("stage", "where") else "right", no_wrap=col == "stage")
    for s in result.stages:
        table.add_row(s.name, s.where, str(s.partitions), str(s.computed), str(s.skipped), f"{s.rows:,}",
                      f"{s.seconds:.1f}", str(len(s.retried)))
    out.print(table)
    for r in result.manifest["retried"]:
        err.print(f"retried {r['stage']}/{r['partition']}: {r['attempts']} attempts ({r['errors'][-1]})",
                  markup=False)
    out.print(f"published {result.run_id}: {result.path} (CURRENT -> {result.run_id})", markup=False)
