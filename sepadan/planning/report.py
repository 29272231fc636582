"""What a planner takes away: JSON, tables (CSV, Excel), charts (PNG), and one self-contained HTML
report with the charts embedded, for one worker's gaps or a region's demand, supply and plan.

Column names in CSV and Excel are stable identifiers (English, snake_case); the terminal and the HTML
report show them in Indonesian or English.
"""

from __future__ import annotations

import base64
import csv
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from sepadan.planning.demand import GapRow, RegionPlan
from sepadan.planning.gaps import GapLine, TrainingOption, WorkerGaps, course_end

log = logging.getLogger(__name__)
COLOURS = {"filled": "#2e7d32", "added": "#1565c0", "unfilled": "#cfd8dc", "trainees": "#90caf9"}
HEAD = {  # column -> (Indonesian, English)
    "dimension": ("dimensi", "dimension"), "requirement": ("kebutuhan", "requirement"),
    "job_orders": ("job order", "job orders"), "positions": ("posisi", "positions"),
    "filled_now": ("terisi kini", "filled now"), "unfilled": ("kosong", "unfilled"),
    "eligible_workers": ("pekerja siap", "eligible workers"),
    "workers_meeting": ("pekerja memiliki", "workers with it"),
    "one_training_away": ("1 pelatihan lagi", "1 course away"), "lacking": ("near miss tanpa", "near misses lacking"),
    "courses": ("pelatihan", "courses"), "seats": ("kursi", "seats"), "filled_with_plan": ("dgn rencana", "with plan"),
    "status": ("status", "status"), "course_id": ("pelatihan", "course"), "title": ("judul", "title"),
    "provider": ("penyelenggara", "provider"), "region": ("wilayah", "region"), "next_start": ("mulai", "starts"),
    "ends": ("selesai", "ends"), "hours": ("jam", "hours"),
    "cost_per_trainee_idr": ("biaya/peserta", "cost/trainee"),
    "trainees": ("peserta", "trainees"), "cost_idr": ("biaya", "cost"), "fills": ("posisi terisi", "fills"),
    "cost_per_fill_idr": ("biaya/posisi", "cost/fill"),
    "fills_job_orders": ("job order yang diisi", "job orders filled"),
    "from": ("dari", "from"), "to": ("sampai (mulai pelatihan)", "to (courses starting)"),
    "as_of": ("per tanggal", "as of"), "workers": ("pekerja tersedia", "available workers"),
    "flagged_job_orders_left_out": ("job order agensi tanpa izin aktif (tidak dihitung)",
                                    "job orders of agencies without an active licence (left out)"),
    "flagged_positions_left_out": ("posisinya", "their positions"),
    "workers_one_training_away": ("pekerja satu pelatihan lagi", "workers one course away"),
    "budget_idr": ("anggaran", "budget"), "method": ("metode", "method"), "optimal": ("optimal", "optimal"),
    "filled_without_training": ("terisi tanpa pelatihan", "filled without training"),
    "added_fills": ("tambahan posisi terisi", "added fills"),
    "upper_bound_fills": ("batas atas posisi terisi", "upper bound on fills"),
}
DIMS = {
    "skill": ("keterampilan", "skill"), "language": ("bahasa", "language"),
    "certificate": ("sertifikat", "certificate"), "occupation": ("jabatan", "occupation"),
    "destination": ("tujuan", "destination"),
}
PLACES = {
    "ID": ("dalam negeri", "domestic"), "TW": ("Taiwan", "Taiwan"), "HK": ("Hong Kong", "Hong Kong"),
    "MY": ("Malaysia", "Malaysia"), "SG": ("Singapura", "Singapore"), "JP": ("Jepang", "Japan"),
    "KR": ("Korea Selatan", "South Korea"), "SA": ("Arab Saudi", "Saudi Arabia"),
}
STATUS = {
    "met": ("terpenuhi", "met"), "train": ("bisa dilatih", "trainable"),
    "no training": ("tidak ada pelatihan", "no course teaches it"), "short": ("kurang", "short"),
}


def head(column: str, lang: str) -> str:
    return HEAD.get(column, (column, column))[0 if lang == "id" else 1]


def label(r: GapRow, lang: str) -> str:
    """A gap row's name as a person reads it (destinations by country name)."""
    if r.dimension == "destination":
        return f"{PLACES.get(r.key, (r.key, r.key))[0 if lang == 'id' else 1]} ({r.key})"
    return r.label


def money(value: float | None, lang: str = "id") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}"
    return "Rp " + text.replace(",", ".") if lang == "id" else "IDR " + text


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

# --- JSON ------------------------------------------------------------------------------------

def gaps_json(g: WorkerGaps, *, lang: str = "id", trainings: int | None = None) -> dict[str, Any]:
    """One worker's gaps: the shape the CLI's --json and the HTTP route return."""
    return {
        "worker_id": g.worker_id,
        "as_of": _iso(g.as_of),
        "eligible": {"vacancies": g.eligible_vacancies, "positions": g.eligible_positions},
        "gaps": [_line_json(x, lang, trainings) for x in g.gaps],
        "not_trainable": [_line_json(x, lang, 0) for x in g.not_trainable],
        "near_misses": [
            {
                "vacancy_id": n.vacancy_id, "title": n.title, "country": n.country, "positions": n.positions,
                "deadline": _iso(n.deadline), "missing": [x.text(lang) for x in n.needs],
            }
            for n in g.near
        ],
        "documents": [{"document": d, "positions": p} for d, p in g.documents],
    }


def _line_json(x: GapLine, lang: str, limit: int | None) -> dict[str, Any]:
    return {
        "kind": x.need.kind, "key": x.need.key, "label": x.need.name(lang), "text": x.need.text(lang),
        "trainable": x.need.trainable, "unlocks": x.unlocks, "with_one_more": x.with_one_more,
        "vacancies": list(x.vacancies), "no_training": x.need.trainable and not x.trainings,
        "trainings": [_option_json(t) for t in x.trainings[:limit]],
    }


def _option_json(t: TrainingOption) -> dict[str, Any]:
    tr = t.training
    return {
        "id": tr.id, "title": tr.title, "provider": tr.provider, "region": tr.region, "skills": list(tr.skills),
        "languages": [f"{c.language} {c.test} {c.level}" for c in tr.languages], "hours": tr.hours,
        "cost_idr": tr.cost_idr, "seats": tr.seats, "next_start": _iso(tr.next_start), "ends": _iso(t.ends),
        "unlocks": t.unlocks, "vacancies": list(t.vacancies),
        "positions_per_hour": None if t.per_hour is None else round(t.per_hour, 4),
    }


def region_json(rp: RegionPlan) -> dict[str, Any]:
    sheets = region_sheets(rp, "en")
    return {"summary": dict(sheets[0].rows),
            **{s.name: [dict(zip(s.columns, r, strict=True)) for r in s.rows] for s in sheets[1:]}}


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None

# --- tables ----------------------------------------------------------------------------------

def worker_sheets(g: WorkerGaps, lang: str = "id") -> list[Sheet]:
    cols = ("kind", "requirement", "unlocks", "with_one_more", "trainable", "job_orders", "course_id", "title",
            "provider", "region", "hours", "cost_idr", "seats", "next_start", "ends", "course_unlocks",
            "positions_per_hour", "course_job_orders")
    rows = []
    for x in (*g.gaps, *g.not_trainable):
        base = (x.need.kind, x.need.name(lang), x.unlocks, x.with_one_more, x.need.trainable, ";".join(x.vacancies))
        rows += [base + _option_row(t) for t in x.trainings] or [base + (None,) * 12]
    near = tuple((n.vacancy_id, n.title, n.country, n.positions, _iso(n.deadline),
                  "; ".join(x.text(lang) for x in n.needs)) for n in g.near)
    return [Sheet("gaps", cols, tuple(rows)),
            Sheet("near_misses", ("vacancy_id", "title", "country", "positions", "deadline", "missing"), near)]


def _option_row(t: TrainingOption) -> tuple[Any, ...]:
    tr = t.training
    return (tr.id, tr.title, tr.provider, tr.region, tr.hours, tr.cost_idr, tr.seats, _iso(tr.next_start),
            _iso(t.ends), t.unlocks, None if t.per_hour is None else round(t.per_hour, 4), ";".join(t.vacancies))


GAP_COLUMNS = (
    "dimension", "key", "requirement", "job_orders", "positions", "filled_now", "unfilled", "eligible_workers",
    "workers_meeting", "one_training_away", "lacking", "courses", "seats", "filled_with_plan", "status",
)
PLAN_COLUMNS = (
    "course_id", "title", "provider", "region", "next_start", "ends", "hours", "cost_per_trainee_idr", "seats",
    "trainees", "cost_idr", "fills", "cost_per_fill_idr", "fills_job_orders",
)


def region_sheets(rp: RegionPlan, lang: str = "id") -> list[Sheet]:
    gaps = tuple((r.dimension, r.key, label(r, lang), r.vacancies, r.positions, r.filled, r.unfilled, r.eligible,
                  r.meet, r.near, r.lacking, r.trainings, r.seats, r.with_plan, r.status) for r in rp.rows)
    trainees = tuple((a.worker_id, rp.regions.get(a.worker_id), a.course_id, a.vacancy_id,
                      rp.job_orders[a.vacancy_id].title, rp.job_orders[a.vacancy_id].country)
                     for a in rp.plan.assignments if a.course_id is not None)
    return [Sheet("summary", ("item", "value"), tuple(summary_items(rp))), Sheet("gaps", GAP_COLUMNS, gaps),
            Sheet("plan", PLAN_COLUMNS, tuple(cohort_rows(rp))),
            Sheet("trainees", ("worker_id", "worker_region", "course_id", "vacancy_id", "title", "country"), trainees)]


def summary_items(rp: RegionPlan) -> list[tuple[str, Any]]:
    s, p, sc = rp.summary, rp.plan, rp.scope
    return [
        ("region", sc.region or "all"), ("from", _iso(sc.start)), ("to", _iso(sc.end)), ("as_of", _iso(s.as_of)),
        ("job_orders", s.vacancies), ("positions", s.positions), ("flagged_job_orders_left_out", s.flagged_vacancies),
        ("flagged_positions_left_out", s.flagged_positions), ("workers", s.workers),
        ("eligible_workers", s.eligible_workers), ("workers_one_training_away", s.near_workers),
        ("courses", s.courses), ("seats", s.seats), ("budget_idr", rp.problem.budget), ("method", p.method),
        ("optimal", p.optimal), ("filled_without_training", p.baseline), ("filled_with_plan", p.fills),
        ("added_fills", p.added), ("trainees", sum(map(len, p.trainees.values()))), ("cost_idr", p.cost),
        ("cost_per_fill_idr", None if p.cost_per_fill is None else round(p.cost_per_fill)),
        ("upper_bound_fills", round(p.bound, 2)),
    ]


def cohort_rows(rp: RegionPlan) -> list[tuple[Any, ...]]:
    rows = []
    for course_id, fills in sorted(rp.plan.fills_by_course().items(), key=lambda kv: -sum(kv[1].values())):
        t, n, total = rp.trainings[course_id], len(rp.plan.trainees[course_id]), sum(fills.values())
        cost = n * (t.cost_idr or 0)
        orders = "; ".join(f"{v} x{k}" for v, k in sorted(fills.items(), key=lambda kv: (-kv[1], kv[0])))
        rows.append((course_id, t.title, t.provider, t.region, _iso(t.next_start), _iso(course_end(t)), t.hours,
                     t.cost_idr, t.seats, n, cost, total, round(cost / total) if total else None, orders))
    return rows


def write_csv(path: Path, sheets: Sequence[Sheet], *, main: str = "gaps") -> list[Path]:
    """The ``main`` sheet to ``path``; each other one beside it as ``STEM-NAME.csv``."""
    ordered = sorted(sheets, key=lambda s: s.name != main)
    paths = [path] + [path.with_name(f"{path.stem}-{s.name}.csv") for s in ordered[1:]]
    for p, sheet in zip(paths, ordered, strict=True):
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(sheet.columns)
            writer.writerows(sheet.rows)
    return paths


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """One worksheet per table, bold header, frozen first row, widths fitted; ids stay text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(sheet.name[:31])
        ws.append(list(sheet.columns))
        for row in sheet.rows:
            ws.append([_cell(v) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for i, col in enumerate(sheet.columns, start=1):
            width = max([len(str(col))] + [len(str(r[i - 1])) for r in sheet.rows[:500] if r[i - 1] is not None])
            ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, width + 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, float, str)) else str(value)

# --- charts and the HTML report ----------------------------------------------------------------

def charts(rp: RegionPlan, directory: Path, lang: str = "id", *, top: int = 15) -> list[tuple[str, Path]]:
    """PNG charts: demand against supply by requirement and by destination, and the plan."""
    directory.mkdir(parents=True, exist_ok=True)
    reqs = sorted((r for r in rp.rows if r.dimension in ("skill", "language", "certificate")),
                  key=lambda r: (-r.positions, r.label))[:top]
    dests = sorted((r for r in rp.rows if r.dimension == "destination"), key=lambda r: (-r.positions, r.label))
    en = lang != "id"
    code = rp.scope.region
    region = f"{'region' if en else 'wilayah'} {code}" if code else ("all regions" if en else "semua wilayah")
    titles = [("Demand and supply by requirement, {} (top {})" if en
               else "Permintaan dan pasokan per kebutuhan, {} ({} teratas)").format(region, len(reqs)),
              ("Demand and supply by destination, {}" if en
               else "Permintaan dan pasokan per tujuan, {}").format(region),
              ("The training plan, {}" if en else "Rencana pelatihan, {}").format(region)]
    out = [(titles[i], _stacked(directory / name, rows, lang, titles[i]))
           for i, (name, rows) in enumerate((("demand_by_requirement.png", reqs), ("demand_by_destination.png", dests)))
           if rows]
    if rp.plan.trainees:
        out.append((titles[2], _plan_chart(directory / "plan.png", rp, lang, titles[2])))
    return out


def _figure(rows: int):  # noqa: ANN202 - a matplotlib Figure
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 1.9 + 0.42 * max(rows, 1)), dpi=110)
    return fig, fig.subplots()


def _stacked(path: Path, rows: Sequence[GapRow], lang: str, title: str) -> Path:
    en = lang != "id"
    fig, ax = _figure(len(rows))
    y = np.arange(len(rows))[::-1]
    now = np.array([r.filled for r in rows])
    added = np.array([max(0, r.with_plan - r.filled) for r in rows])
    rest = np.array([max(0, r.positions - r.filled - a) for r, a in zip(rows, added, strict=True)])
    left = np.zeros(len(rows))
    names = (("filled by the pool now", "filled after the plan's courses", "still unfilled") if en
             else ("terisi oleh pekerja kini", "terisi setelah pelatihan", "masih kosong"))
    for values, colour, name in zip((now, added, rest), ("filled", "added", "unfilled"), names, strict=True):
        ax.barh(y, values, left=left, color=COLOURS[colour], label=name, height=0.7)
        left = left + values
    for yi, r, total in zip(y, rows, left, strict=True):
        ax.text(total + max(left.max(), 1) * 0.01, yi, _note(r, en), va="center", fontsize=8.5,
                color="#c62828" if r.status == "no training" else "#37474f")
    ax.set_yticks(y, [_short(label(r, lang)) for r in rows], fontsize=9)
    for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_color("#c62828" if r.status == "no training" else "#212121")
    ax.set_xlabel("positions in open job orders" if en else "posisi pada job order terbuka")
    ax.set_xlim(0, max(left.max(), 1) * 1.02)
    _finish(fig, ax, path, title)
    return path


def _note(r: GapRow, en: bool) -> str:
    parts = [f"{r.positions} " + ("positions" if en else "posisi")]
    if r.near:
        parts.append(f"{r.near} " + ("one course away" if en else "satu pelatihan lagi"))
    if r.status == "no training":
        parts.append("no course teaches it" if en else "tidak ada pelatihan")
    return "  ·  ".join(parts)


def _plan_chart(path: Path, rp: RegionPlan, lang: str, title: str) -> Path:
    en, p = lang != "id", rp.plan
    cohorts = cohort_rows(rp)
    fig, ax = _figure(len(cohorts))
    y = np.arange(len(cohorts))[::-1]
    trainees = np.array([c[9] for c in cohorts])
    ax.barh(y, trainees, color=COLOURS["trainees"], height=0.7, label="trainees" if en else "peserta")
    ax.barh(y, [c[11] for c in cohorts], color=COLOURS["added"], height=0.4,
            label="positions they fill" if en else "posisi yang mereka isi")
    for yi, c in zip(y, cohorts, strict=True):
        per = money(c[12], lang) + (" per fill" if en else " per posisi") if c[12] else ("free" if en else "gratis")
        text = f"{c[11]} {'filled' if en else 'terisi'} · {per} · {'starts' if en else 'mulai'} {c[4] or '-'}"
        ax.text(c[9] + max(trainees.max(), 1) * 0.01, yi, text, va="center", fontsize=8.5, color="#37474f")
    ax.set_yticks(y, [_short(f"{c[0]} {c[1]} ({c[3]})", 54) for c in cohorts], fontsize=9)
    sub = ("+{} positions ({} -> {}) for {}, {} per fill; {}" if en
           else "+{} posisi ({} -> {}) dengan {}, {} per posisi; {}")
    kind = p.method + (", optimal" if p.optimal else f", bound {p.bound:.0f}")
    ax.set_title(sub.format(p.added, p.baseline, p.fills, money(p.cost, lang), money(p.cost_per_fill, lang), kind),
                 fontsize=9.5, loc="left", color="#37474f")
    ax.set_xlabel("trainees per cohort" if en else "peserta per angkatan")
    ax.set_xlim(0, max(trainees.max(), 1) * 1.02)
    _finish(fig, ax, path, title)
    return path


def _finish(fig: Any, ax: Any, path: Path, title: str) -> None:
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#eceff1")
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", frameon=False, fontsize=8.5)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight", pad_inches=0.2)


def _short(text: str, width: int = 38) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def write_report(directory: Path, rp: RegionPlan, *, lang: str = "id", rows: int = 40) -> Path:
    """``index.html`` with every chart embedded (base64), the summary, the gap table and the plan."""
    pngs = charts(rp, directory, lang)
    en = lang != "id"
    sheets = {s.name: s for s in region_sheets(rp, lang)}
    parts = [f"<h1>{'Training plan' if en else 'Rencana pelatihan'}: {html.escape(rp.scope.region or 'all')}</h1>",
             _kv(sheets["summary"].rows, lang)]
    for title, png in pngs:
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        alt = html.escape(title)
        parts.append(f"<h2>{alt}</h2><img alt='{alt}' src='data:image/png;base64,{data}'>")
    parts.append(f"<h2>{'Gaps' if en else 'Kesenjangan'}</h2>" + _table(sheets["gaps"], lang, rows, skip=("key",)))
    parts.append(f"<h2>{'Cohorts' if en else 'Angkatan'}</h2>" + _table(sheets["plan"], lang, None))
    parts.append("<p class='note'>" + html.escape(NOTE[1 if en else 0]) + "</p>")
    path = directory / "index.html"
    path.write_text(PAGE.format(title=html.escape(f"sepadan {rp.scope.region or ''}"), body="\n".join(parts)),
                    encoding="utf-8")
    return path


def _kv(items: Sequence[tuple[Any, ...]], lang: str) -> str:
    cells = "".join(f"<tr><th>{html.escape(head(k, lang))}</th><td>{html.escape(_fmt(v, lang, k))}</td></tr>"
                    for k, v in items)
    return f"<table class='kv'>{cells}</table>"


def _table(sheet: Sheet, lang: str, limit: int | None, *, skip: tuple[str, ...] = ()) -> str:
    keep = [i for i, c in enumerate(sheet.columns) if c not in skip]
    top = "".join(f"<th>{html.escape(head(sheet.columns[i], lang))}</th>" for i in keep)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(row[i], lang, sheet.columns[i]))}</td>" for i in keep)
                   + "</tr>" for row in sheet.rows[:limit])
    return f"<table><thead><tr>{top}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any, lang: str, column: str) -> str:
    if value is None:
        return "-"
    if column.endswith("_idr"):
        return money(value, lang)
    if column in ("status", "dimension"):
        return (STATUS if column == "status" else DIMS).get(value, (value, value))[0 if lang == "id" else 1]
    if isinstance(value, bool):
        return ("ya" if value else "tidak") if lang == "id" else ("yes" if value else "no")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


NOTE = (  # (Indonesian, English)
    "Asumsi: setiap peserta menyelesaikan pelatihan dan diterima; satu pelatihan per pekerja; pelatihan harus "
    "selesai sebelum batas waktu job order; job order dari agensi tanpa izin aktif tidak dihitung.",
    "Assumptions: every trainee completes the course and is hired; one course per worker; a course must end "
    "by the job order's deadline; job orders of agencies without an active licence are left out.",
)
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title><style>
body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1150px;color:#212121}}
table{{border-collapse:collapse;margin:1em 0;font-size:13px}} th,td{{border:1px solid #cfd8dc;padding:3px 7px}}
th{{background:#eceff1;text-align:left}} td{{text-align:right}} td:first-child,td:nth-child(2){{text-align:left}}
table.kv td{{text-align:left}} img{{max-width:100%}} .note{{color:#546e7a;font-size:13px}}
</style></head><body>
{body}
</body></html>
"""
