"""The planning commands: ``sepadan gaps WORKER_ID`` and ``sepadan plan``.

:func:`register` adds them to the main Typer app (``sepadan/cli/core.py`` calls it once, at the bottom).
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

CsvFile = Annotated[
    Optional[Path], typer.Option("--csv", help="write the tables as CSV (FILE, plus FILE-NAME.csv for the others)")
]
AsJson = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
XlsxFile = Annotated[Optional[Path], typer.Option("--xlsx", help="write the tables to an Excel workbook")]
Top = Annotated[int, typer.Option("--top", min=1, max=500, help="how many rows to show")]
GAP_VIEW = ("requirement", "positions", "filled_now", "unfilled", "eligible_workers", "one_training_away", "lacking",
            "courses", "filled_with_plan", "status")
T = {  # (id, en)
    "eligible": (
        "memenuhi syarat kini: {v} job order ({p} posisi); hampir memenuhi: {n} job order",
        "eligible now: {v} job orders ({p} positions); nearly: {n} job orders",
    ),
    "need": ("kekurangan", "missing"),
    "opens": ("membuka", "opens"),
    "more": ("+1 syarat", "+1 gap"),
    "courses": ("pelatihan yang menutupnya", "courses that close it"),
    "none": ("tidak ada pelatihan yang mengajarkannya", "no course teaches it"),
    "not_trainable": ("bukan lewat pelatihan singkat", "not closed by a short course"),
    "documents": (
        "dokumen yang perlu disiapkan (posisi yang memintanya)", "documents to prepare (positions asking for them)",
    ),
    "no_gaps": ("tidak ada job order yang hampir terpenuhi", "no job order is one or two requirements away"),
    "late": ("selesai setelah batas waktu", "ends after the deadlines"),
    "header": ("{v} job order, {p} posisi; {w} pekerja tersedia, {e} memenuhi syarat untuk salah satunya, {n} satu "
               "pelatihan lagi; {c} pelatihan, {s} kursi",
               "{v} job orders, {p} positions; {w} available workers, {e} eligible for one, {n} one course away; "
               "{c} courses, {s} seats"),
    "flagged": ("{v} job order ({p} posisi) dari agensi tanpa izin aktif tidak dihitung",
                "{v} job orders ({p} positions) of agencies without an active licence left out"),
    "positions": (
        "{n} posisi (+{m} bila satu syarat lain juga terpenuhi)", "{n} positions (+{m} with one more gap closed)",
    ),
}


def register(app: typer.Typer) -> None:
    """Add ``gaps`` and ``plan`` to the main app."""
    app.command("gaps")(gaps)
    app.command("plan")(plan)


def _t(key: str, lang: str, **values: Any) -> str:
    return T[key][0 if lang == "id" else 1].format(**values)


def gaps(
    worker_id: str, scope: Annotated[str, typer.Option(help="overseas, domestic or all")] = "all",
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="courses shown per gap")] = 3, top: Top = 10,
    lang: Lang = "id", as_json: AsJson = False, csv_file: CsvFile = None, xlsx: XlsxFile = None, today: Today = None,
    home: Home = None,
) -> None:
    """A worker's skill gaps: what keeps them out of the job orders they nearly fit (one or two unmet
    requirements), ranked by the positions closing each would open, and the courses that close it."""
    from sepadan.matching.matcher import SCOPES
    from sepadan.planning.demand import market
    from sepadan.planning.gaps import worker_gaps
    from sepadan.planning.report import gaps_json, worker_sheets

    lang = _lang(lang)
    if scope not in SCOPES:
        raise SepadanError(f"--scope must be one of {', '.join(SCOPES)}")
    with _engine(home, today) as engine:
        result = worker_gaps(market(engine), worker_id, scope=scope)
    written = _exports(worker_sheets(result, lang), csv_file, xlsx)
    if as_json:
        out.print_json(json.dumps(gaps_json(result, lang=lang, trainings=k), ensure_ascii=False))
    else:
        _print_gaps(result, lang, k, top)
    for path in written:
        err.print(f"wrote {path}")


def _print_gaps(g: Any, lang: str, k: int, top: int) -> None:
    from sepadan.matching.messages import DOCS
    from sepadan.planning.report import money

    out.print(
        f"[bold]{g.worker_id}[/]: "
        + _t("eligible", lang, v=g.eligible_vacancies, p=g.eligible_positions, n=len(g.near))
    )
    if not g.gaps and not g.not_trainable:
        out.print(_t("no_gaps", lang))
    table = Table(show_lines=True)
    for col in ("#", _t("need", lang), _t("opens", lang), _t("more", lang), _t("courses", lang)):
        table.add_column(
            col, overflow="fold", justify="right" if col in (_t("opens", lang), _t("more", lang)) else "left"
        )
    for i, x in enumerate(g.gaps[:top], start=1):
        courses = "\n".join(_course(t, lang, money) for t in x.trainings[:k]) or f"[red]{_t('none', lang)}[/]"
        table.add_row(str(i), x.need.text(lang), str(x.unlocks), str(x.with_one_more), courses)
    if g.gaps:
        out.print(table)
    if g.not_trainable:
        out.print(_t("not_trainable", lang) + ":")
        for x in g.not_trainable[:5]:
            out.print(f"  {x.need.text(lang)}: " + _t("positions", lang, n=x.unlocks, m=x.with_one_more))
    if g.documents:
        docs = "; ".join(f"{DOCS.get(d, (d, d))[0 if lang == 'id' else 1]} ({p})" for d, p in g.documents)
        out.print(_t("documents", lang) + ": " + docs)


def _course(t: Any, lang: str, money: Any) -> str:
    tr, en = t.training, lang != "id"
    facts = [
        tr.next_start.isoformat() if tr.next_start else "-",
        f"{tr.hours:g} {'h' if en else 'jam'}" if tr.hours else "-", money(tr.cost_idr, lang),
        f"{tr.seats} {'seats' if en else 'kursi'}" if tr.seats is not None else "-",
    ]
    if t.unlocks:
        per = f" ({t.per_hour:.2f}/{'h' if en else 'jam'})" if t.per_hour is not None else ""
        opens = f"→ {t.unlocks} {'positions' if en else 'posisi'}{per}"
    else:
        opens = f"[yellow]{_t('late', lang)}[/]"
    return f"[bold]{tr.id}[/] {tr.title}, {tr.provider or '-'} ({tr.region or '-'})\n  {' · '.join(facts)} {opens}"


def plan(
    region: Annotated[
        Optional[str], typer.Option(help="Kemendagri code, e.g. 35 (East Java) or 35.08; default: all")
    ] = None,
    start: Annotated[
        Optional[str], typer.Option("--from", help="first day of the period (YYYY-MM-DD); default today")
    ] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="last day a course may start (YYYY-MM-DD)")] = None,
    budget: Annotated[
        Optional[float], typer.Option(min=0, help="training budget in IDR (course cost per trainee); default: no limit")
    ] = None,
    method: Annotated[str, typer.Option(help="auto, milp (exact) or greedy")] = "auto",
    time_limit: Annotated[float, typer.Option("--time-limit", min=1, help="seconds the milp may take")] = 60.0,
    top: Top = 20,
    lang: Lang = "id",
    as_json: AsJson = False,
    csv_file: CsvFile = None,
    xlsx: XlsxFile = None,
    report: Annotated[
        Optional[Path], typer.Option("--report", help="write PNG charts and index.html to this folder")
    ] = None,
    today: Today = None,
    home: Home = None,
) -> None:
    """Demand against supply for a region and a period, the gap table, and the training plan that fills
    the most positions within the courses' seats and the budget."""
    from sepadan.planning.demand import Scope, market, plan_region
    from sepadan.planning.optimise import METHODS
    from sepadan.planning.report import region_json, region_sheets, write_report

    lang = _lang(lang)
    if method not in METHODS:
        raise SepadanError(f"--method must be one of {', '.join(METHODS)}")
    scope = Scope(region, _day(start, "--from"), _day(end, "--to"))
    if scope.start and scope.end and scope.end < scope.start:
        raise SepadanError("--to is before --from")
    with _engine(home, today) as engine:
        rp = plan_region(market(engine), scope, budget=budget, method=method, time_limit=time_limit, lang=lang)
    written = _exports(region_sheets(rp, lang), csv_file, xlsx)
    if report is not None:
        written.append(write_report(report, rp, lang=lang))
    if as_json:
        out.print_json(json.dumps(region_json(rp), ensure_ascii=False, default=str))
    else:
        _print_plan(rp, lang, top)
    for path in written:
        err.print(f"wrote {path}")


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SepadanError(f"{option}: '{text}' is not a date like 2026-11-01") from None


def _print_plan(rp: Any, lang: str, top: int) -> None:
    from sepadan.planning.report import DIMS, cohort_rows, head, label, money

    s, en = rp.summary, lang != "id"
    where = rp.scope.region or ("all regions" if en else "semua wilayah")
    out.print(f"[bold]{where}[/], {s.as_of} .. {rp.scope.end or '-'}: " + _t(
        "header", lang, v=s.vacancies, p=s.positions, w=s.workers, e=s.eligible_workers, n=s.near_workers,
        c=s.courses, s=s.seats))
    if s.flagged_vacancies:
        out.print(f"[yellow]{_t('flagged', lang, v=s.flagged_vacancies, p=s.flagged_positions)}[/]")
    table = Table(title="gaps" if en else "kesenjangan")
    for c in GAP_VIEW:
        table.add_column(head(c, lang), overflow="fold", justify="left" if c in ("requirement", "status") else "right",
                         min_width=24 if c == "requirement" else None)
    for r in rp.rows[:top]:
        cells = (f"{label(r, lang)} [dim]({DIMS[r.dimension][0 if lang == 'id' else 1]})[/]", r.positions, r.filled,
                 r.unfilled, r.eligible, r.near, r.lacking, _courses(r), r.with_plan, _status(r.status, lang))
        table.add_row(*("-" if c is None else str(c) for c in cells))
    out.print(table)
    _print_cohorts(rp, lang, cohort_rows(rp), money)


def _courses(r: Any) -> str | None:
    return None if r.trainings is None else f"{r.trainings} ({r.seats})"


def _status(status: str, lang: str) -> str:
    from sepadan.planning.report import STATUS

    text = STATUS[status][0 if lang == "id" else 1]
    return f"[red]{text}[/]" if status == "no training" else text


def _print_cohorts(rp: Any, lang: str, cohorts: list, money: Any) -> None:
    from sepadan.planning.report import head

    en, p = lang != "id", rp.plan
    table = Table(title="plan" if en else "rencana")
    for c in ("course_id", "title", "region", "next_start", "trainees", "cost_idr", "fills", "cost_per_fill_idr",
              "fills_job_orders"):
        table.add_column(head(c, lang), overflow="fold")
    for c in cohorts:
        table.add_row(
            c[0], c[1], c[3] or "-", c[4] or "-", str(c[9]), money(c[10], lang), str(c[11]), money(c[12], lang), c[13]
        )
    if cohorts:
        out.print(table)
    kind = f"{p.method}, {'optimal' if p.optimal else 'not proven optimal'}"
    out.print(
        f"[bold]{'plan' if en else 'rencana'} ({kind})[/]: +{p.added} "
        f"{'positions filled' if en else 'posisi terisi'} ({p.baseline} -> {p.fills}) "
        f"{'for' if en else 'dengan'} {money(p.cost, lang)}, {money(p.cost_per_fill, lang)} "
        f"{'per fill' if en else 'per posisi'}; {sum(map(len, p.trainees.values()))} "
        f"{'trainees' if en else 'peserta'}; {'upper bound' if en else 'batas atas'} {p.bound:.0f}"
    )


def _exports(sheets: list, csv_file: Path | None, xlsx: Path | None) -> list[Path]:
    from sepadan.planning.report import write_csv, write_xlsx

    written: list[Path] = []
    if csv_file is not None:
        written += write_csv(csv_file, sheets)
    if xlsx is not None:
        written.append(write_xlsx(xlsx, sheets))
    return written
