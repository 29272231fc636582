"""The command line: ``sepadan import|index|shortlist|recommend|explain|demo``.

The one place that reads settings from the environment, configures logging and prints. Errors a
user can act on become one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from sepadan import faults
from sepadan.cli.common import (
    AsCsv,
    AsJson,
    Home,
    K,
    Lang,
    Today,
    _engine,
    _lang,
    err,
    out,
)
from sepadan.errors import InvalidInput, SepadanError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="sepadan: link-and-match for Indonesian labour migration.")
log = logging.getLogger("sepadan.cli")
# sepadan.contract.KINDS (a test holds them equal), written out so `sepadan --help` imports no pydantic
KINDS = ("workers", "vacancies", "trainings", "agencies", "outcomes")
DEMO_VACANCY, DEMO_WORKER = "V-0042", "W-000123"
Wide = Annotated[bool, typer.Option("--wide", help="every reason and gap in a full table (default: a compact view, two lines a result)")]


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("-v", "--verbose", help="log more")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    faults.arm(os.environ.get("SEPADAN_FAULT"))  # crash tests only: named points die with SIGKILL


@app.command("import")
def import_(kind: Annotated[str, typer.Argument(help=f"one of: {', '.join(KINDS)}")],
            file: Annotated[Path, typer.Argument(help="a .jsonl, .csv or .xlsx file in the data contract")],
            skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="write the valid rows, rejects to a file")] = False,
            rejects: Annotated[Optional[Path], typer.Option("--rejects", help="where rejects go (default FILE.rejects.csv)")] = None,
            no_index: Annotated[bool, typer.Option("--no-index", help="do not update the indexes now")] = False,
            home: Home = None) -> None:
    """Import workers, vacancies, trainings, agencies or outcomes; all-or-nothing, safe to repeat."""
    with _engine(home) as engine:
        report = engine.import_file(kind, file, skip_invalid=skip_invalid, rejects=rejects)
        out.print(f"{kind}: {report.rows} rows read, {report.inserted} new, {report.updated} updated, "
                  f"{report.unchanged} unchanged" + (f", {report.rejected} rejected -> {report.rejects_file}"
                                                      if report.rejected else ""))
        if kind in ("workers", "vacancies", "agencies") and not no_index:
            engine.build()
            _print_index_status(engine)


@app.command()
def index(rebuild: Annotated[bool, typer.Option("--rebuild", help="rebuild even if up to date")] = False,
          home: Home = None) -> None:
    """Build the worker and vacancy indexes, or check them and rebuild what is stale or corrupt."""
    with _engine(home) as engine:
        engine.build(force=rebuild)
        _print_index_status(engine)


def _print_index_status(engine: Any) -> None:
    table = Table(title="indexes")
    for col in ("side", "rows", "kind", "model", "built", "status"):
        table.add_column(col)
    for side, st in engine.index_status.items():
        m = st.manifest
        table.add_row(side, str(m.count), m.kind, m.model, m.built_at, "rebuilt: " + st.reason if st.rebuilt else st.reason)
    out.print(table)


@app.command()
def shortlist(vacancy_id: str, k: K = 30, region: Annotated[Optional[str], typer.Option(help="Kemendagri code, e.g. 35 or 35.08")] = None,
              include_ineligible: Annotated[bool, typer.Option("--include-ineligible", help="also show who fails a rule, and why")] = False,
              exclusive: Annotated[bool, typer.Option("--exclusive", help="leave out workers the latest allocation proposes elsewhere; show how many other orders each one is proposed to")] = False,
              lang: Lang = "id", as_json: AsJson = False, as_csv: AsCsv = False, wide: Wide = False,
              today: Today = None, home: Home = None) -> None:
    """Rank the eligible workers for a job order, with reasons and gaps."""
    from sepadan.matching.output import match_list_json

    with _engine(home, today) as engine:
        options = {"k": k, "region": region, "include_ineligible": include_ineligible}
        if exclusive:  # the allocation modules (pandas, scipy) only when asked for
            from sepadan.allocation_store import exclusive_shortlist, mark_json

            ml, ex = exclusive_shortlist(engine.matcher, engine.store, vacancy_id, **options)
        else:
            ml, ex = engine.matcher.shortlist(vacancy_id, **options), None
        body = match_list_json(ml, lang=_lang(lang), describe=engine.describe_worker)
        body = mark_json(body, ex) if ex is not None else body
        header = engine.describe_vacancy(vacancy_id)
    _emit(body, as_json, as_csv, title=f"{vacancy_id}: {header['title']} ({header['country'] or '-'})",
          id_key="worker_id", extra=("region", "proposed_elsewhere") if exclusive else ("region",), wide=wide)


@app.command()
def recommend(worker_id: str, k: K = 10,
              scope: Annotated[str, typer.Option(help="overseas, domestic or all")] = "all",
              country: Annotated[Optional[str], typer.Option(help="ISO country code, e.g. JP")] = None,
              include_flagged: Annotated[bool, typer.Option("--include-flagged", help="officers: also show vacancies of unlicensed agencies, flagged")] = False,
              lang: Lang = "id", as_json: AsJson = False, as_csv: AsCsv = False, wide: Wide = False,
              today: Today = None, home: Home = None) -> None:
    """Rank the vacancies a worker is eligible for (legal channels only), with reasons and gaps."""
    from sepadan.matching.output import match_list_json

    with _engine(home, today) as engine:
        ml = engine.matcher.recommend(worker_id, scope=scope, country=country.upper() if country else None,
                                      k=k, include_flagged=include_flagged)
        body = match_list_json(ml, lang=_lang(lang), describe=engine.describe_vacancy)
    _emit(body, as_json, as_csv, title=f"recommendations for {worker_id} ({scope})",
          id_key="vacancy_id", extra=("title", "country"), wide=wide)


@app.command()
def explain(worker_id: str, vacancy_id: str, lang: Lang = "id", as_json: AsJson = False,
            today: Today = None, home: Home = None) -> None:
    """Every rule, component, reason and gap for one worker and one vacancy."""
    from sepadan.matching.messages import labels_in_english, render
    from sepadan.matching.output import match_json
    from sepadan.models.explain import explain_parts

    with _engine(home, today) as engine:
        match = engine.matcher.explain(worker_id, vacancy_id)
        checks = engine.matcher.checks(worker_id, vacancy_id)
        lang = _lang(lang)
        body = {"worker_id": worker_id, "model_version": engine.matcher.model_version,
                **match_json(match, lang=lang, key="vacancy_id"),
                "eligible": match.eligible,
                "checks": [{"rule": c.rule, "ok": c.ok, "hard": c.hard, "message": render(c.key, c.params, lang)}
                           for c in checks],
                **explain_parts(engine.matcher, worker_id, vacancy_id)}
        if lang == "id":  # ESCO labels with no Indonesian form yet, shown in English
            body["labels_in_english"] = labels_in_english((*match.reasons, *match.gaps), engine.lexicon.labels)
    if as_json:
        out.print_json(json.dumps(body, ensure_ascii=False, default=str))
        return
    table = Table(title=f"{worker_id} x {vacancy_id}: score {body['score']}, "
                        f"{'eligible' if match.eligible else 'NOT eligible'}")
    for col in ("rule", "ok", "kind", "message"):
        table.add_column(col)
    for c in body["checks"]:
        table.add_row(c["rule"], "yes" if c["ok"] else "NO", "rule" if c["hard"] else "gap", c["message"])
    out.print(table)
    parts, rules = body.get("score_parts"), body.get("rules_and_evidence")
    if parts:
        out.print(f"score {parts['score']:.4f} ({parts['model_version']}) = " + " + ".join(
            f"{p['feature']} {p['contribution']:.3f}" for p in parts["parts"] if p["contribution"] > 0))
    evidence = f"rules and evidence ({rules['model_version']}, score {rules['score']:.4f}), " if rules else ""
    out.print(evidence + "components: " + ", ".join(f"{k} {v:.2f}" for k, v in body["components"].items()))
    out.print("reasons: " + "; ".join(body["reasons"]))
    out.print("gaps: " + ("; ".join(body["gaps"]) or "-"))
    if body.get("labels_in_english"):
        out.print("label tanpa terjemahan (ditampilkan dalam bahasa Inggris): " + "; ".join(body["labels_in_english"]))


@app.command()
def demo(k: K = 10, lang: Lang = "id", home: Home = None, wide: Wide = False,
         regenerate: Annotated[bool, typer.Option("--regenerate", help="write the demo data again first")] = False) -> None:
    """Load the bundled demo data, build the indexes, and show a shortlist and recommendations."""
    from sepadan.demo_data import generate
    from sepadan.features.taxonomy import default_data_dir
    from sepadan.matching.output import match_list_json

    folder = default_data_dir() / "demo"
    if regenerate or not all((folder / f"{kind}.jsonl").exists() for kind in KINDS):
        out.print(f"writing demo data to {folder}")
        generate(folder)
    with _engine(home) as engine:
        for kind in ("agencies", "trainings", "workers", "vacancies", "outcomes"):
            r = engine.import_file(kind, folder / f"{kind}.jsonl")
            out.print(f"imported {kind}: {r.rows} rows ({r.inserted} new, {r.updated} updated, {r.unchanged} unchanged)")
        engine.build()
        _print_index_status(engine)
        lang = _lang(lang)
        ml = engine.matcher.shortlist(DEMO_VACANCY, k=k)
        body = match_list_json(ml, lang=lang, describe=engine.describe_worker)
        head = engine.describe_vacancy(DEMO_VACANCY)
        _emit(body, False, False, title=f"shortlist for {DEMO_VACANCY}: {head['title']} ({head['country']})",
              id_key="worker_id", extra=("region",), wide=wide)
        rec = engine.matcher.recommend(DEMO_WORKER, scope="all", k=k)
        body = match_list_json(rec, lang=lang, describe=engine.describe_vacancy)
        _emit(body, False, False, title=f"recommendations for worker {DEMO_WORKER}", id_key="vacancy_id",
              extra=("title", "country"), wide=wide)
        signin = _demo_signin(engine)
    out.print("next: sepadan explain W-000123 V-0042 | sepadan shortlist V-0042 --json | sepadan --help")
    out.print("web app: run `sepadan serve`, then open "
              f"http://127.0.0.1:8000/signin?token={signin} (signs in once, as the demo admin, within 24 hours)")


def _demo_signin(engine: Any) -> str:
    from datetime import UTC, datetime

    from sepadan.store.web_sessions import demo_signin_token

    return demo_signin_token(engine.store, now=datetime.now(UTC))


@app.command("demo-data")
def demo_data(folder: Annotated[Path, typer.Argument(help="where to write the JSON Lines files")],
              seed: Annotated[int, typer.Option(help="random seed")] = 20261123,
              workers: Annotated[int, typer.Option(min=1)] = 5000,
              vacancies: Annotated[int, typer.Option(min=1)] = 500) -> None:
    """Write the synthetic demo data set (fixed seed) in the data contract's format."""
    from sepadan.demo_data import generate

    paths = generate(folder, seed=seed, n_workers=workers, n_vacancies=vacancies)
    for kind, path in paths.items():
        out.print(f"{kind}: {path}")


def _emit(body: dict[str, Any], as_json: bool, as_csv: bool, *, title: str, id_key: str,
          extra: tuple[str, ...], wide: bool = False) -> None:
    from sepadan.cli.render import print_results

    if as_json:
        out.print_json(json.dumps(body, ensure_ascii=False, default=str))
    elif as_csv:
        sys.stdout.write(_csv(body["results"], id_key, extra))
    else:
        print_results(out, body, title=title, id_key=id_key, extra=extra, wide=wide)


def _csv(results: list[dict[str, Any]], id_key: str, extra: tuple[str, ...]) -> str:
    comps = sorted({c for r in results for c in r["components"]})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["rank", id_key, *extra, "score", *comps, "eligible", "reasons", "gaps", "failed"])
    for r in results:
        writer.writerow([r["rank"], r[id_key], *(r.get(e) for e in extra), r["score"],
                         *(r["components"].get(c, "") for c in comps), r.get("eligible", True),
                         " | ".join(r["reasons"]), " | ".join(r["gaps"]), " | ".join(r.get("failed", []))])
    return buffer.getvalue()


from sepadan.cli.api import register as _register_api  # noqa: E402
from sepadan.cli.bench import register as _register_bench  # noqa: E402
from sepadan.cli.models import register as _register_models  # noqa: E402
from sepadan.cli.planning import register as _register_planning  # noqa: E402
from sepadan.cli.allocate import register as _register_allocate  # noqa: E402,I001
from sepadan.cli.erase import register as _register_erase  # noqa: E402,I001
from sepadan.cli.batch import register as _register_batch  # noqa: E402,I001

_register_planning(app)
_register_allocate(app)
_register_models(app)
_register_bench(app)
_register_api(app)
_register_erase(app)
_register_batch(app)


def main() -> None:
    try:
        app()
    except InvalidInput as exc:
        for e in exc.errors[:20]:
            err.print(f"error: {e}", markup=False, highlight=False)
        if len(exc.errors) > 20:
            err.print(f"... and {len(exc.errors) - 20} more; nothing was written", markup=False)
        else:
            err.print("nothing was written", markup=False)
        sys.exit(1)
    except (SepadanError, ValueError, FileNotFoundError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
