"""The allocation command: ``sepadan allocate`` (and ``sepadan allocate --show ID`` to reopen one).

:func:`register` adds it to the main Typer app (``sepadan/cli/core.py`` calls it once, at the bottom).
Like the rest of the CLI, this is an edge: it reads options, prints with Rich, and writes files.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from sepadan.cli.common import Home, Lang, Today, _engine, _lang, err, out
from sepadan.errors import SepadanError

T = {  # (id, en)
    "none": ("tidak ada job order terbuka di {where} sejak {day}: tidak ada yang dialokasikan",
             "no open job orders in {where} from {day}: nothing to allocate"),
    "head": ("{o} job order, {p} posisi ({s} slot usulan); {c} kandidat ({w} pekerja)",
             "{o} job orders, {p} positions ({s} proposal slots); {c} candidates ({w} workers)"),
    "result": ("alokasi: {n} usulan ke {d} pekerja; {cov} dari {p} posisi punya usulan; skor total {t:.3f}",
               "allocation: {n} proposals to {d} workers; {cov} of {p} positions have a proposal; total score {t:.3f}"),
    "indep": ("shortlist sendiri-sendiri: {n} usulan ke {d} pekerja (paling banyak {m} job order per pekerja); "
              "paling banyak {f} posisi bisa terisi bila tiap pekerja mengambil satu pekerjaan (alokasi: {fa})",
              "independent shortlists: {n} proposals to {d} workers (up to {m} job orders per worker); at most {f} "
              "positions fillable if each worker takes one job (allocation: {fa})"),
    "stored": ("disimpan sebagai {id}", "stored as {id}"),
    "unfilled": ("posisi tanpa usulan", "positions without a proposal"),
    "idle": ("{n} kandidat tidak diusulkan ke mana pun (job order mereka sudah penuh oleh yang lebih cocok)",
             "{n} candidates proposed nowhere (their job orders were full of better fits)"),
}


def register(app: typer.Typer) -> None:
    """Add ``allocate`` to the main app."""
    app.command("allocate")(allocate)


def _t(key: str, lang: str, **values: Any) -> str:
    return T[key][0 if lang == "id" else 1].format(**values)


def allocate(
    region: Annotated[Optional[str], typer.Option(help="Kemendagri code, e.g. 35 or 35.08; default: all")] = None,
    start: Annotated[Optional[str], typer.Option("--from", help="first day of the period (YYYY-MM-DD); default today")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="last day a course may start (YYYY-MM-DD), for the hints")] = None,
    proposals_per_worker: Annotated[int, typer.Option("--proposals-per-worker", min=1, max=50,
                                                      help="job orders a worker may be proposed to")] = 1,
    candidates_per_position: Annotated[int, typer.Option("--candidates-per-position", min=1, max=20,
                                                         help="proposals a job order may get per position")] = 2,
    k: Annotated[int, typer.Option("-k", min=1, max=200, help="candidates considered per job order (its top k)")] = 10,
    objective: Annotated[str, typer.Option(help="cover: positions with a proposal first, then total score; "
                                                "score: total score only")] = "cover",
    quota: Annotated[Optional[list[str]], typer.Option("--quota", help="REGION:N, at least N proposals to workers "
                                                                       "of that region (repeatable)")] = None,
    replace_id: Annotated[Optional[str], typer.Option("--replace", help="store it instead of this allocation "
                                                                        "(refused if outcomes were recorded)")] = None,
    show: Annotated[Optional[str], typer.Option("--show", help="reopen a stored allocation by id")] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="do not keep the allocation")] = False,
    top: Annotated[int, typer.Option("--top", min=1, max=500, help="rows shown per table")] = 20,
    lang: Lang = "id",
    as_json: Annotated[bool, typer.Option("--json", help="print the allocation as JSON")] = False,
    csv_file: Annotated[Optional[Path], typer.Option("--csv", help="write the tables as CSV (FILE, plus "
                                                                   "FILE-NAME.csv for the others)")] = None,
    xlsx: Annotated[Optional[Path], typer.Option("--xlsx", help="write the tables to an Excel workbook")] = None,
    today: Today = None,
    home: Home = None,
) -> None:
    """Allocate workers across the open job orders of a region: each worker proposed to at most
    --proposals-per-worker orders, each order at most positions x --candidates-per-position proposals,
    every rule and preference kept; unfilled positions say why."""
    from sepadan.allocate import Request
    from sepadan.allocate import allocate as run
    from sepadan.allocation_store import from_doc, store_allocation
    from sepadan.allocation_report import allocation_json, write_tables
    from sepadan.store.allocations import load

    lang = _lang(lang)
    with _engine(home, today) as engine:
        if show is not None:
            a = from_doc(load(engine.store, show).doc)
        else:
            request = Request(region, _day(start, "--from"), _day(end, "--to"), proposals_per_worker,
                              candidates_per_position, k, objective, tuple(_quota(q) for q in quota or ()))
            if request.start and request.end and request.end < request.start:
                raise SepadanError("--to is before --from")
            a = run(engine, request)
            if a.empty:
                out.print(_t("none", lang, where=region or ("semua wilayah" if lang == "id" else "all regions"),
                             day=a.as_of))
                return
            if not no_store:
                a = store_allocation(engine, a, replace_id=replace_id)
    for path in write_tables(a, lang=lang, csv=csv_file, xlsx=xlsx):
        err.print(f"wrote {path}")
    if as_json:
        out.print_json(json.dumps(allocation_json(a, lang=lang), ensure_ascii=False, default=str))
    else:
        _print(a, lang, top)


def _quota(text: str) -> Any:
    from sepadan.allocate import Quota

    region, _, n = text.partition(":")
    if not region or not n.isdigit():
        raise SepadanError(f"--quota: '{text}' is not REGION:N, e.g. 53.01:2")
    return Quota(region, int(n))


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SepadanError(f"{option}: '{text}' is not a date like 2026-11-01") from None


def _print(a: Any, lang: str, top: int) -> None:
    from sepadan.allocation_report import why_text

    r, i = a.allocated, a.independent
    out.print(_t("head", lang, o=a.orders, p=a.positions, s=a.slots, c=a.candidates, w=a.candidate_workers))
    out.print(_t("result", lang, n=r.proposals, d=r.distinct_workers, cov=r.positions_covered, p=a.positions,
                 t=r.total_score))
    out.print(_t("indep", lang, n=i.proposals, d=i.distinct_workers, m=i.most_orders_per_worker,
                 f=i.positions_fillable, fa=r.positions_fillable))
    table = Table(title="allocation" if lang != "id" else "alokasi", show_lines=False)
    for col in ("job order", "pos", "allocated" if lang != "id" else "diusulkan",
                "also considered" if lang != "id" else "juga dipertimbangkan"):
        table.add_column(col, overflow="fold")
    for v in a.views[:top]:
        table.add_row(f"{v.vacancy_id} {v.title}", str(v.positions),
                      ", ".join(f"{p.worker_id} ({p.score:.2f})" for p in v.allocated) or "-",
                      ", ".join(c.worker_id + (f"→{c.proposed_to[0]}" if c.proposed_to else "")
                                for c in v.considered[:6]) or "-")
    out.print(table)
    if a.unfilled:
        gaps = Table(title=_t("unfilled", lang))
        for col in ("job order", "unfilled", "why"):
            gaps.add_column(col, overflow="fold")
        for u in a.unfilled[:top]:
            gaps.add_row(f"{u.vacancy_id} {u.title}", f"{u.unfilled}/{u.positions}", why_text(u, lang))
        out.print(gaps)
    if a.idle:
        out.print(_t("idle", lang, n=len(a.idle)))
    out.print(f"model: {a.model_version}" + (f"; {_t('stored', lang, id=a.id)}" if a.id else ""))
