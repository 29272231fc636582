"""``sepadan bench``: quality and speed benchmarks against outside ground truth and against peers.

The CLI edge of :mod:`sepadan.evaluation`: it reads settings and ``MLFLOW_TRACKING_URI`` from the
environment, writes the result files (markdown, JSON, PNG) and logs each result to MLflow.
Add it to the main app with ``register(app)``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sepadan.cli.common import _settings
from sepadan.errors import ConfigError

log = logging.getLogger("sepadan.cli.bench")
bench_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Benchmarks: quality on outside ground truth, speed at scale, against peers.",
)

Home = Annotated[
    Optional[Path],
    typer.Option(
        "--home",
        help="data folder: phrase cache and MLflow store (default $SEPADAN_HOME or ./.sepadan)",
    ),
]
ResultsDir = Annotated[
    Path, typer.Option("--results", help="where the markdown, JSON and PNG files go")
]
RunOut = Annotated[
    Optional[Path],
    typer.Option(
        "--run-out",
        help="write sepadan's ranking here as a TREC run "
        "(query Q0 doc rank score sepadan, top 100)",
    ),
]
Track = Annotated[
    bool,
    typer.Option(
        "--track/--no-track",
        help="log the result to MLflow (tracking URI: "
        "$MLFLOW_TRACKING_URI, else sqlite:///HOME/mlflow.db)",
    ),
]
Note = Annotated[
    Optional[list[str]],
    typer.Option(
        "--note", help="a line for the result's notes, e.g. 'machine shared' (repeatable)"
    ),
]
AllowEmpty = Annotated[
    bool,
    typer.Option(
        "--allow-empty",
        help="write the result even when more than 5% of the queries have no eligible "
        "candidate (refused by default: such scores measure nothing)",
    ),
]
RESULTS = Path("experiments/results")


def register(app: typer.Typer) -> None:
    """Add the ``bench`` sub-commands to the main ``sepadan`` app."""
    app.add_typer(bench_app, name="bench")


def _verbose() -> None:
    logging.getLogger("sepadan.evaluation").setLevel(logging.INFO)
    for noisy in ("bm25s", "alembic", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _encoder_spec(settings: Any) -> Any:
    from sepadan.evaluation.speed import EncoderSpec

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cache = (settings.home / "bench" / "phrases.db").resolve()
    return EncoderSpec(settings.model_path, settings.model_sha256, f"sqlite:///{cache}")


def _quality_encoder(settings: Any) -> Any:
    """The encoder the settings name (``SEPADAN_ENCODER``, default minilm-onnx-int8) behind the bench's
    phrase cache (keyed by model, so encoders do not mix)."""
    from sepadan.features.encoder import CachedEncoder, open_encoder
    from sepadan.store.db import Store

    spec = _encoder_spec(settings)
    model = open_encoder(
        settings.encoder,
        model_path=settings.model_path,
        sha256=settings.model_sha256,
        cache_dir=settings.home / "models",
    )
    log.info("quality benchmarks with the encoder %s", settings.encoder)
    return CachedEncoder(model, Store.open(spec.cache_url))


def _context(settings: Any) -> Any:
    from sepadan.evaluation.quality import Context
    from sepadan.features.lexicon import load_lexicon
    from sepadan.features.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(settings.data_dir)
    return Context(
        taxonomy, load_lexicon(taxonomy, settings.data_dir), lambda: _quality_encoder(settings)
    )


def _preflight(track: bool) -> None:
    from sepadan.evaluation.baselines import require

    require("bm25s", "the BM25 baseline")
    if track:
        require("mlflow", "tracking benchmark runs (or pass --no-track)")


def _finish(
    result: Any,
    settings: Any,
    results_dir: Path,
    *,
    track: bool,
    run_out: Path | None = None,
    charts: list | None = None,
    notes: list[str] | None = None,
    allow_empty: bool = False,
) -> None:
    """Refuse a result that measures nothing (see ``--allow-empty``), else write the result files
    and the TREC run, print the table, log to MLflow."""
    from sepadan.evaluation import results
    from sepadan.evaluation.datasets import write_trec_run

    results.check_empty(result, allow=allow_empty)
    result.params.setdefault("encoder", settings.encoder)
    result.notes.append(f"encoder: {settings.encoder} (setting SEPADAN_ENCODER)")
    if (line := results.empty_line(result)) is not None:
        typer.echo(f"{result.name}: {line}", err=True)
    result.notes += notes or []
    paths = results.write(result, results_dir, charts=charts)
    if run_out is not None:
        paths["run"] = write_trec_run(run_out, result.run)
    typer.echo(results.markdown(result))
    typer.echo("wrote " + ", ".join(str(p) for p in paths.values()), err=True)
    if track:
        from sepadan.evaluation.tracking import default_tracking_uri, log_result

        uri = os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(settings.home)
        settings.home.mkdir(parents=True, exist_ok=True)
        run_id = log_result(
            result, paths.values(), tracking_uri=uri, artifact_root=settings.home / "mlartifacts"
        )
        typer.echo(f"MLflow run {run_id} in {uri}", err=True)


@bench_app.command("skills")
def skills(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="a file in the TechWolf annotation format (sentence, span, sub_span, label)",
        ),
    ],
    name: Annotated[Optional[str], typer.Option(help="data set name in the result files")] = None,
    run_out: RunOut = None,
    results_dir: ResultsDir = RESULTS,
    track: Track = True,
    allow_empty: AllowEmpty = False,
    note: Note = None,
    home: Home = None,
) -> None:
    """Skill normalisation: rank all ESCO skills per sentence; RP@5, RP@10, MRR against peers."""
    from sepadan.evaluation.datasets import load_techwolf
    from sepadan.evaluation.quality import run_skills

    _verbose()
    _preflight(track)
    settings = _settings(home)
    bench = load_techwolf(_exists(data), name=name or _stem(data))
    _finish(
        run_skills(bench, _context(settings)),
        settings,
        results_dir,
        track=track,
        run_out=run_out,
        notes=note,
        allow_empty=allow_empty,
    )


@bench_app.command("titles")
def titles(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="a JobBERT-format file (title, conceptUri), a KBJI 2014 file (6-digit titles) "
            "or a TalentCLEF task A folder (queries, corpus_elements, qrels.tsv)",
        ),
    ],
    sample: Annotated[
        Optional[int], typer.Option(min=1, help="rank only N titles, drawn with --seed")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed for --sample")] = 20261123,
    name: Annotated[Optional[str], typer.Option(help="data set name in the result files")] = None,
    run_out: RunOut = None,
    results_dir: ResultsDir = RESULTS,
    track: Track = True,
    allow_empty: AllowEmpty = False,
    note: Note = None,
    home: Home = None,
) -> None:
    """Occupation normalisation: rank all ESCO occupations per title; MRR, accuracy@1/5/10."""
    _verbose()
    _preflight(track)
    settings = _settings(home)
    ctx = _context(settings)
    result = _titles(ctx, _exists(data), name=name, sample=sample, seed=seed)
    _finish(
        result,
        settings,
        results_dir,
        track=track,
        run_out=run_out,
        notes=note,
        allow_empty=allow_empty,
    )


def _titles(ctx: Any, data: Path, *, name: str | None, sample: int | None, seed: int) -> Any:
    from sepadan.evaluation.datasets import (
        load_jobbert,
        load_kbji_titles,
        load_talentclef,
        split_benchmark,
    )
    from sepadan.evaluation.quality import run_title_pairs, run_titles

    if data.is_dir():
        bench, corpus = load_talentclef(data, name=name)
        return run_title_pairs(bench.sample(sample, seed=seed), corpus, ctx)
    if _is_kbji(data):
        bench = load_kbji_titles(data, ctx.taxonomy, name=name or "kbji2014")
        return run_titles(bench.sample(sample, seed=seed), ctx, use_kbji_table=False)
    bench = load_jobbert(data, name=name or _stem(data))
    return run_titles(bench.sample(sample, seed=seed), ctx, examples=split_benchmark(bench, "dev"))


def _is_kbji(path: Path) -> bool:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        header = handle.readline()
    return ("kode" in header and "judul" in header) or header.startswith("code\tlevel_digits")


@bench_app.command("ranking")
def ranking(
    workers: Annotated[
        Path, typer.Option("--workers", help="workers in the data contract's format")
    ],
    vacancies: Annotated[
        Path, typer.Option("--vacancies", help="vacancies in the data contract's format")
    ],
    qrels: Annotated[Path, typer.Option("--qrels", help="TSV: vacancy_id, worker_id, grade")],
    agencies: Annotated[
        Optional[Path],
        typer.Option(
            "--agencies",
            help="the licence register (agencies in the data contract's format), imported first; "
            "overseas orders of an agency not in it are never eligible",
        ),
    ] = None,
    today: Annotated[
        Optional[str],
        typer.Option(help="evaluate deadlines and licences as of this date (YYYY-MM-DD)"),
    ] = None,
    name: Annotated[str, typer.Option(help="data set name in the result files")] = "ranking",
    run_out: RunOut = None,
    results_dir: ResultsDir = RESULTS,
    track: Track = True,
    allow_empty: AllowEmpty = False,
    note: Note = None,
    home: Home = None,
) -> None:
    """Worker-to-vacancy ranking: NDCG@10, Recall@50 for sepadan, BM25, TF-IDF and embeddings."""
    from sepadan.cli.common import _date
    from sepadan.evaluation.quality import run_ranking

    _verbose()
    _preflight(track)
    settings = _settings(home)
    result = run_ranking(
        _exists(workers),
        _exists(vacancies),
        _exists(qrels),
        _context(settings),
        agencies=_exists(agencies) if agencies else None,
        name=name,
        today=_date(today),
        allow_empty=allow_empty,
    )
    _finish(
        result,
        settings,
        results_dir,
        track=track,
        run_out=run_out,
        notes=note,
        allow_empty=allow_empty,
    )


@bench_app.command("make-ranking-set")
def make_ranking_set(
    out_dir: Annotated[
        Path,
        typer.Argument(
            help="folder for workers.jsonl, vacancies.jsonl, qrels.tsv, truth.tsv, manifest.json"
        ),
    ],
    vacancies: Annotated[int, typer.Option(min=1)] = 300,
    workers: Annotated[int, typer.Option(min=1)] = 3000,
    seed: Annotated[int, typer.Option(help="random seed")] = 20261123,
    english_only: Annotated[
        bool,
        typer.Option("--english-only", help="no Indonesian wording (lexicon phrases, KBJI titles)"),
    ] = False,
    real_titles: Annotated[
        Optional[Path],
        typer.Option(
            "--real-titles",
            help="real wording: vacancy titles and some workers' experience from this "
            "JobBERT titles.csv (its test split), 3 skills per order in other words, half the "
            "orders abroad through agencies written to agencies.jsonl (pass it to bench "
            "ranking --agencies)",
        ),
    ] = None,
    home: Home = None,
) -> None:
    """Write the ESCO-derived ranking set (fixed seed) with graded judgements from ISCO-08."""
    from sepadan.evaluation.datasets import load_real_titles
    from sepadan.evaluation.ranking_set import make_ranking_set as make
    from sepadan.features.lexicon import load_lexicon
    from sepadan.features.taxonomy import load_taxonomy

    if real_titles and english_only:
        raise ConfigError("--real-titles and --english-only do not go together")
    settings = _settings(home)
    taxonomy = load_taxonomy(settings.data_dir)
    config = _ranking_config(
        english_only=english_only,
        real=real_titles is not None,
        n_vacancies=vacancies,
        n_workers=workers,
        seed=seed,
    )
    titles = load_real_titles(_exists(real_titles)) if real_titles else None
    made = make(taxonomy, load_lexicon(taxonomy, settings.data_dir), config, real_titles=titles)
    for kind, path in made.write(out_dir).items():
        typer.echo(f"{kind}: {path}")
    typer.echo(f"judged pairs by grade: {made.stats['judged_pairs_by_grade']}")
    if made.agencies:
        typer.echo(
            f"{made.stats['overseas_orders']} overseas orders: run bench ranking with "
            f"--agencies {out_dir / 'agencies.jsonl'}"
        )


@bench_app.command("quality")
def quality(
    reference: Annotated[
        Optional[Path],
        typer.Option(
            "--reference",
            help="folder with techwolf-skill-extraction/ and jobbert-eval/ (the layout of "
            "the reference data README); left out: only KBJI and ranking run",
        ),
    ] = None,
    sample: Annotated[
        Optional[int], typer.Option(min=1, help="JobBERT: rank only N titles")
    ] = None,
    run_out: Annotated[
        Optional[Path],
        typer.Option("--run-out", help="a FOLDER: one TREC run per benchmark, NAME.run"),
    ] = None,
    results_dir: ResultsDir = RESULTS,
    track: Track = True,
    note: Note = None,
    allow_empty: AllowEmpty = False,
    home: Home = None,
) -> None:
    """All quality benchmarks: skills (TECH, HOUSE), titles (JobBERT, KBJI), ranking (ESCO set)."""
    from sepadan.evaluation import results
    from sepadan.evaluation.datasets import default_kbji_path, load_techwolf
    from sepadan.evaluation.quality import run_skills

    _verbose()
    _preflight(track)
    settings = _settings(home)
    ctx = _context(settings)
    done = []

    def finish(result: Any) -> None:
        out = run_out / f"{result.name}.run" if run_out else None
        _finish(
            result,
            settings,
            results_dir,
            track=track,
            run_out=out,
            notes=note,
            allow_empty=allow_empty,
        )
        done.append(result)

    techwolf = reference / "techwolf-skill-extraction" if reference else None
    for split in ("tech", "house"):
        path = techwolf / f"{split}_validation_annotations.csv" if techwolf else None
        if path and path.exists():
            finish(run_skills(load_techwolf(path, name=f"techwolf-{split}-validation"), ctx))
        else:
            typer.echo(
                f"skipped skills ({split}): no --reference with techwolf-skill-extraction/",
                err=True,
            )
    jobbert = reference / "jobbert-eval" / "titles.csv" if reference else None
    if jobbert and jobbert.exists():
        finish(_titles(ctx, jobbert, name="jobbert-titles", sample=sample, seed=20261123))
    else:
        typer.echo(
            "skipped titles (JobBERT): no --reference with jobbert-eval/titles.csv", err=True
        )
    finish(_titles(ctx, default_kbji_path(), name="kbji2014-titles", sample=None, seed=0))
    finish(_ranking_on_generated(ctx))
    finish(_ranking_on_generated(ctx, english_only=True))
    if jobbert and jobbert.exists():
        finish(_ranking_on_generated(ctx, real_titles=jobbert))
    summary = results_dir / "quality.md"
    summary.write_text(_summary(done, results), encoding="utf-8")
    typer.echo(f"summary: {summary}", err=True)


def _ranking_on_generated(
    ctx: Any, *, english_only: bool = False, real_titles: Path | None = None
) -> Any:
    from sepadan.evaluation.datasets import load_real_titles
    from sepadan.evaluation.quality import run_ranking
    from sepadan.evaluation.ranking_set import make_ranking_set

    config = _ranking_config(english_only=english_only, real=real_titles is not None)
    name = "ranking-real-titles" if real_titles else (
        "ranking-esco-synthetic" + ("-english" if english_only else "")
    )
    titles = load_real_titles(real_titles) if real_titles else None
    with tempfile.TemporaryDirectory(prefix="sepadan-ranking-set-") as tmp:
        made = make_ranking_set(ctx.taxonomy, ctx.lexicon, config, real_titles=titles)
        paths = made.write(Path(tmp))
        result = run_ranking(
            paths["workers"],
            paths["vacancies"],
            paths["qrels"],
            ctx,
            agencies=paths.get("agencies"),
            name=name,
            today=RANKING_TODAY,
        )
    flag = " --english-only" if english_only else ""
    flag += " --real-titles jobbert-eval/titles.csv" if real_titles else ""
    result.notes.append(
        f"set from `sepadan bench make-ranking-set{flag}` (seed {config.seed}, "
        f"{config.n_vacancies} vacancies x {config.n_workers} workers)"
    )
    if real_titles:
        result.notes += REAL_WORDING
    else:
        result.notes.append(SHARED_DICTIONARY)
    if english_only:
        result.notes.append(
            "English-only variant: no Indonesian skill phrases and no KBJI titles; "
            "what is left of sepadan's lead without Indonesian wording"
        )
    return result


RANKING_TODAY = None  # the generated sets have no deadlines and licences valid until 2030
REAL_WORDING = [
    "real wording: vacancy titles are JobBERT validation titles of the test split (the title "
    "reader was tuned on the dev split only), 3 required skills in other words; workers' "
    "experience a KBJI Indonesian title, another real title or an ESCO label; half the orders "
    "overseas through agencies of the generated licence register, imported first (--agencies)",
    "skills are still worded from ESCO alternative labels and lexicon phrases, which sepadan's "
    "normaliser looks up: the titles are what is real here",
]
SHARED_DICTIONARY = (
    "caveat: the generator words workers with ESCO alternative labels (and Indonesian lexicon "
    "phrases, KBJI titles), which sepadan's normaliser looks up exactly; generator and sepadan "
    "share that dictionary, so this set measures what the normalisation is worth, not how sepadan "
    "ranks text people wrote (that needs placement outcomes)"
)


def _ranking_config(*, english_only: bool, real: bool = False, **sizes: int) -> Any:
    from sepadan.evaluation.ranking_set import RankingSetConfig, real_wording

    if real:
        return real_wording(**sizes)
    if english_only:
        return RankingSetConfig(**sizes, indonesian_skill=0.0, kbji_title=0.0)
    return RankingSetConfig(**sizes)


def _summary(done: list[Any], results: Any) -> str:
    parts = [
        "# Quality benchmarks",
        "",
        "Written by `sepadan bench quality`; each section is also a file of "
        "its own (markdown, JSON, PNG) in this folder.",
        "",
    ]
    for result in done:
        body = results.markdown(result).split("\n", 1)[1]
        parts += [f"## {result.task}: {result.dataset}", body.replace("\n## ", "\n### ")]
    return "\n".join(parts)


@bench_app.command("speed")
def speed(
    sizes: Annotated[
        str, typer.Option(help="worker counts, comma-separated")
    ] = "10000,100000,1000000",
    queries: Annotated[int, typer.Option(min=1, help="queries timed per size")] = 100,
    import_max: Annotated[
        int, typer.Option(help="measure the import up to this many workers")
    ] = 100_000,
    workdir: Annotated[
        Optional[Path],
        typer.Option(help="folder for generated data (kept; default a temporary folder)"),
    ] = None,
    results_dir: ResultsDir = RESULTS,
    track: Track = True,
    note: Note = None,
    allow_empty: AllowEmpty = False,
    home: Home = None,
) -> None:
    """Speed at each size: import, embedding, index build, memory, latency p50/p99, ANN recall."""
    from sepadan.evaluation.speed import SpeedConfig, run_speed
    from sepadan.evaluation.speed_report import chart_makers

    _verbose()
    _preflight(track)
    settings = _settings(home)
    try:
        counts = tuple(int(x.replace("_", "")) for x in sizes.split(",") if x.strip())
    except ValueError:
        raise ConfigError(
            f"--sizes: '{sizes}' is not a list of numbers like 10000,100000"
        ) from None
    config = SpeedConfig(
        sizes=counts,
        queries=queries,
        import_max=import_max,
        index_exact_max=settings.index_exact_max,
        index_ann=settings.index_ann,
        ivf_nprobe=settings.ivf_nprobe,
        exact_filter_max=settings.exact_filter_max,
        exact_filter_share=settings.exact_filter_share,
        hnsw_m=settings.hnsw_m,
        ef_search=settings.hnsw_ef_search,
        ef_construction=settings.hnsw_ef_construction,
    )
    with tempfile.TemporaryDirectory(prefix="sepadan-speed-") as tmp:
        folder = workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        result = run_speed(config, _encoder_spec(settings), folder)
    _finish(
        result,
        settings,
        results_dir,
        track=track,
        charts=chart_makers(result),
        notes=note,
        allow_empty=allow_empty,
    )


def _exists(path: Path) -> Path:
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    return path


def _stem(path: Path) -> str:
    return path.name.split(".")[0].removesuffix("_annotations")


def run(argv: list[str]) -> None:
    """Run a ``bench`` command from a script (experiments/): errors become one line and exit 1."""
    import sys

    from sepadan.errors import SepadanError

    try:
        bench_app(args=argv, prog_name="sepadan bench", standalone_mode=True)
    except (SepadanError, ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
