"""Web pages for training planners: demand against supply, gaps, charts, the plan within a budget, downloads.

Aggregates only, as the API's ``demand_gaps`` route (the operation these pages require): no name, NIK
or worker id on any planner page or download. A region (Kemendagri code) and a period (from: the
"as of" day the engine plans for, never before today; to: the last day a course may start) are
picked on ``/planner``, which shows what :meth:`Engine.gap_report <sepadan.engine.Engine.gap_report>`
returns: the summary, the gap table and its charts. The plan form (CSRF-checked POST) leads to
``/planner/plan``, which shows what :meth:`Engine.plan_region <sepadan.engine.Engine.plan_region>`
returns for the typed budget (the optimiser ``sepadan plan`` runs), and offers the Excel workbook and
the HTML report of :mod:`sepadan.planning.report` for the same region, period and budget. Both are
worked out once per matcher and language (``AppState.derived``): the page and its downloads hold the
same plan. The workbook leaves out the CLI's ``trainees`` sheet (worker ids).
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sepadan.api.deps import EngineDep, StateDep
from sepadan.engine import Engine
from sepadan.planning.demand import Scope
from sepadan.planning.report import DIMS, STATUS, cohort_rows, head, label, money, region_sheets, summary_items
from sepadan.planning.report import write_report, write_xlsx
from sepadan.web import i18n
from sepadan.web.deps import CsrfForm, LangDep, PageError, User, render, require
from sepadan.web.planner_charts import DESTINATIONS, REQUIREMENTS, demand_supply_svg, number, pick

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
REGION = re.compile(r"^\d{2}(\.\d{2}){0,3}$")
MAX_BUDGET = 1e15  # IDR
TIME_LIMIT = 30.0  # seconds the exact solver may take for a page (then its best plan and bound are shown)
Planner = Annotated[User, Depends(require("demand_gaps"))]
Rows = Annotated[int, Query(ge=1, le=500)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

i18n.extend({
    "planner.title": ("Perencanaan pelatihan", "Training planning"),
    "planner.intro": ("Permintaan job order terbuka lewat jalur resmi dibandingkan dengan pekerja tersedia di wilayah, "
                      "dan pelatihan yang menutup kesenjangannya. Hanya angka agregat; tanpa data pribadi.",
                      "Demand of open job orders through legal channels against the available workers of the "
                      "region, and the courses that close the gaps. Aggregates only; no personal data."),
    "planner.region": ("Wilayah", "Region"), "planner.region.all": ("Semua wilayah", "All regions"),
    "planner.region.province": ("{c} (provinsi)", "{c} (province)"),
    "planner.region.regency": ("{c} (kabupaten/kota)", "{c} (regency/city)"),
    "planner.from": ("Per tanggal", "As of"),
    "planner.from.help": ("hari pertama periode; paling awal hari ini", "first day of the period; today at the earliest"),
    "planner.to": ("Pelatihan mulai paling lambat", "Courses starting by"),
    "planner.to.help": ("kosong: tanpa batas", "empty: no limit"),
    "planner.show": ("Tampilkan", "Show"),
    "planner.where": ("{r}, per {d}", "{r}, as of {d}"),
    "planner.until": ("pelatihan mulai sampai {d}", "courses starting by {d}"),
    "planner.demand_supply": ("Permintaan dan pasokan", "Demand and supply"),
    "planner.s.vacancies": ("Job order terbuka", "Open job orders"),
    "planner.s.positions": ("Posisi", "Positions"),
    "planner.s.workers": ("Pekerja tersedia di wilayah", "Available workers in the region"),
    "planner.s.eligible": ("Pekerja yang memenuhi syarat untuk salah satunya",
                           "Workers eligible for at least one"),
    "planner.s.near": ("Pekerja satu pelatihan lagi", "Workers one course away"),
    "planner.s.courses": ("Pelatihan di provinsi (kursi)", "Courses in the province (seats)"),
    "planner.s.flagged": ("Job order agensi tanpa izin aktif, tidak dihitung (posisi)",
                          "Job orders of agencies without an active licence, left out (positions)"),
    "planner.s.filled": ("Posisi terisi tanpa pelatihan", "Positions filled without training"),
    "planner.chart.requirements": ("Permintaan dan pasokan per kebutuhan (keterampilan, bahasa, sertifikat)",
                                   "Demand and supply by requirement (skill, language, certificate)"),
    "planner.chart.destinations": ("Permintaan dan pasokan per negara tujuan", "Demand and supply by destination"),
    "planner.chart.top": ("{n} dengan posisi terbanyak", "the {n} with the most positions"),
    "planner.gaps": ("Tabel kesenjangan", "Gap table"),
    "planner.gaps.count": ("{n} dari {total} baris", "{n} of {total} rows"),
    "planner.gaps.all": ("Tampilkan semua", "Show all"),
    "planner.gaps.none": ("Tidak ada job order terbuka di wilayah dan periode ini.",
                          "No open job orders in this region and period."),
    "planner.plan": ("Rencana pelatihan", "Training plan"),
    "planner.budget": ("Anggaran pelatihan (Rp)", "Training budget (IDR)"),
    "planner.budget.help": ("biaya kursus per peserta; kosong: tanpa batas; mis. 25.000.000",
                            "course cost per trainee; empty: no limit; e.g. 25,000,000"),
    "planner.build": ("Susun rencana", "Build the plan"),
    "planner.build.slow": ("Menyusun rencana pertama kali untuk satu provinsi memakan belasan detik, untuk semua "
                           "wilayah sampai dua menit; setelah itu hasilnya tersimpan sampai data berubah.",
                           "The first plan for a province takes some seconds, for all regions up to two minutes; "
                           "after that it is kept until the data change."),
    "planner.plan.for": ("Rencana pelatihan: {r}", "Training plan: {r}"),
    "planner.plan.change": ("Ubah wilayah atau periode", "Change region or period"),
    "planner.p.budget": ("Anggaran", "Budget"), "planner.p.no_budget": ("tanpa batas", "no limit"),
    "planner.p.fills": ("Posisi terisi", "Positions filled"),
    "planner.p.fills_value": ("{b} tanpa pelatihan → {f} dengan rencana (+{a})",
                              "{b} without training → {f} with the plan (+{a})"),
    "planner.p.trainees": ("Peserta pelatihan", "Trainees"),
    "planner.p.cost": ("Biaya", "Cost"), "planner.p.per_fill": ("Biaya per posisi tambahan", "Cost per added fill"),
    "planner.p.method": ("Metode", "Method"),
    "planner.p.optimal": ("optimal", "optimal"),
    "planner.p.not_optimal": ("belum terbukti optimal; batas atas {b} posisi",
                              "not proven optimal; upper bound {b} positions"),
    "planner.cohorts": ("Angkatan pelatihan", "Course cohorts"),
    "planner.cohorts.none": ("Tidak ada pelatihan yang menambah posisi terisi dalam anggaran ini.",
                             "No course adds a filled position within this budget."),
    "planner.downloads": ("Unduhan", "Downloads"),
    "planner.download.xlsx": ("Buku kerja Excel", "Excel workbook"),
    "planner.download.html": ("Laporan HTML (dengan grafik)", "HTML report (with charts)"),
    "planner.download.help": ("Wilayah, periode dan anggaran yang sama dengan halaman ini; tanpa daftar peserta "
                              "per pekerja (data pribadi).",
                              "The same region, period and budget as this page; without the list of trainees by "
                              "worker (personal data)."),
    "planner.note": ("Asumsi: setiap peserta menyelesaikan pelatihan dan diterima; satu pelatihan per pekerja; "
                     "pelatihan selesai sebelum batas waktu job order.",
                     "Assumptions: every trainee completes the course and is hired; one course per worker; a "
                     "course ends by the job order's deadline."),
    "planner.bad.region": ("kode wilayah Kemendagri seperti 35 atau 35.08", "a Kemendagri code such as 35 or 35.08"),
    "planner.bad.date": ("tanggal seperti 2026-11-01", "a date such as 2026-11-01"),
    "planner.bad.order": ("tidak boleh sebelum '{f}'", "may not be before '{f}'"),
    "planner.bad.budget": ("angka rupiah 0 atau lebih, mis. 25.000.000", "an amount of 0 or more, e.g. 25000000"),
})


@dataclass(frozen=True, slots=True)
class Choice:
    """What the planner picked: a region, a period and (for a plan) a budget."""

    region: str | None = None
    start: date | None = None
    end: date | None = None
    budget: float | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.region, self.start, self.end)

    def query(self, *, budget: bool = True) -> str:
        """The choice as a query string (ids and numbers only: nothing personal)."""
        items = {"region": self.region or "", "from": _iso(self.start), "to": _iso(self.end)}
        if budget and self.budget is not None:
            items["budget"] = f"{self.budget:.0f}"
        return urlencode({k: v for k, v in items.items() if v})


def parse_choice(values: Mapping[str, Any], lang: str, *, budget: bool = False) -> Choice:
    """A :class:`Choice` from a query string or a form; a bad field is a 422 page naming the field."""
    t = i18n.translator(lang)
    region = _text(values, "region")
    if region and not REGION.match(region):
        raise PageError(422, "bad_input", f"{t('planner.region')} (region): {t('planner.bad.region')}")
    start, end = _day(values, "from", t), _day(values, "to", t)
    if start and end and end < start:
        raise PageError(422, "bad_input", f"{t('planner.to')} (to): {t('planner.bad.order', f=t('planner.from'))}")
    return Choice(region or None, start, end, _budget(values, t) if budget else None)


def _text(values: Mapping[str, Any], name: str, limit: int = 40) -> str:
    value = values.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _day(values: Mapping[str, Any], name: str, t: Any) -> date | None:
    text = _text(values, name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        field = t("planner.from" if name == "from" else "planner.to")
        raise PageError(422, "bad_input", f"{field} ({name}): {t('planner.bad.date')}") from None


def _budget(values: Mapping[str, Any], t: Any) -> float | None:
    """Rupiah as people type them: 25000000, 25.000.000, 25,000,000 or Rp 25.000.000; empty: no limit."""
    text = re.sub(r"^(rp\.?|idr)\s*", "", _text(values, "budget").lower())
    if not text:
        return None
    digits = re.sub(r"[.,\s]", "", text)
    if not digits.isdigit() or float(digits) > MAX_BUDGET:
        raise PageError(422, "bad_input", f"{t('planner.budget')} (budget): {t('planner.bad.budget')}")
    return float(digits)


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


# -- what the pages show: the engine's answers, once per matcher, choice and language -----------

def gaps_for(engine: Engine, state: Any, choice: Choice, lang: str) -> tuple[Any, list[Any]]:
    """``Engine.gap_report`` for the choice: (Summary, gap rows), as the API's demand_gaps works them out."""
    key = ("web-planner-gaps", choice.region, choice.start, choice.end, lang)
    return state.derived(key, lambda: engine.gap_report(choice.scope, lang=lang))


def plan_for(engine: Engine, state: Any, choice: Choice, lang: str) -> Any:
    """``Engine.plan_region`` for the choice and its budget: the RegionPlan the page and its downloads show."""
    def compute() -> Any:
        started = time.perf_counter()
        rp = engine.plan_region(choice.scope, budget=choice.budget, time_limit=TIME_LIMIT, lang=lang)
        log.info("planned region %s (%d job orders, %d candidates) in %.1f s", choice.region or "all",
                 len(rp.job_orders), len(rp.problem.candidates), time.perf_counter() - started)
        return rp

    return state.derived(("web-planner-plan", choice.region, choice.start, choice.end, choice.budget, lang), compute)


def region_choices(engine: Engine, state: Any) -> list[tuple[str, str]]:
    """The provinces and regencies of the workers in the data, as (code, kind) in code order."""
    def compute() -> list[tuple[str, str]]:
        codes = {w.region for w in engine.market().workers if w.region}
        provinces = {c.split(".")[0] for c in codes}
        regencies = {".".join(c.split(".")[:2]) for c in codes if "." in c}
        return sorted([(c, "province") for c in provinces] + [(c, "regency") for c in regencies])

    return state.derived(("web-planner-regions",), compute)


def charts(rows: list[Any], lang: str, *, top: int = 12) -> list[tuple[str, Any]]:
    """(heading, inline SVG) for requirements and for destinations, from the gap rows as they are."""
    t = i18n.translator(lang)
    out = []
    for key, dims in (("planner.chart.requirements", REQUIREMENTS), ("planner.chart.destinations", DESTINATIONS)):
        chosen = pick(rows, dims, top=top)
        if chosen:
            title = t(key) + (f" ({t('planner.chart.top', n=top)})" if len(chosen) == top else "")
            out.append((title, demand_supply_svg(chosen, title=title, lang=lang)))
    return out


def _context(engine: Engine, state: Any, choice: Choice, lang: str, summary: Any, rows: list[Any],
             limit: int) -> dict[str, Any]:
    t = i18n.translator(lang)
    where = t("planner.region.all") if not choice.region else choice.region
    return {"choice": choice, "regions": region_choices(engine, state), "summary": summary,
            "rows": rows[:limit], "total_rows": len(rows), "limit": limit, "charts": charts(rows, lang),
            "where": where, "query": choice.query(budget=False), "today": engine.matcher.ctx.today,
            "num": lambda v: "-" if v is None else number(v, lang), "money": lambda v: money(v, lang),
            "head": lambda c: head(c, lang), "dim": lambda d: DIMS[d][0 if lang == "id" else 1],
            "status": lambda s: STATUS[s][0 if lang == "id" else 1], "label": lambda r: label(r, lang)}


# -- pages -----------------------------------------------------------------------------------

@router.get("/planner", name="web_planner", response_class=HTMLResponse)
def overview(request: Request, user: Planner, engine: EngineDep, state: StateDep, lang: LangDep,
             rows: Rows = 50) -> Response:
    choice = parse_choice(request.query_params, lang)
    summary, table = gaps_for(engine, state, choice, lang)
    return render(request, "planner.html", _context(engine, state, choice, lang, summary, table, rows), user=user)


@router.post("/planner/plan", name="web_planner_plan_form")
def plan_form(request: Request, form: CsrfForm, user: Planner, lang: LangDep) -> Response:
    choice = parse_choice(form, lang, budget=True)
    return RedirectResponse(f"/planner/plan?{choice.query()}", status_code=303)


@router.get("/planner/plan", name="web_planner_plan", response_class=HTMLResponse)
def plan_page(request: Request, user: Planner, engine: EngineDep, state: StateDep, lang: LangDep,
              rows: Rows = 50) -> Response:
    choice = parse_choice(request.query_params, lang, budget=True)
    rp = plan_for(engine, state, choice, lang)
    context = _context(engine, state, choice, lang, rp.summary, list(rp.rows), rows)
    figures = dict(summary_items(rp))
    context |= {"rp": rp, "plan": rp.plan, "figures": figures, "cohorts": cohort_rows(rp),
                "full_query": choice.query()}
    return render(request, "planner_plan.html", context, user=user)


@router.get("/planner/plan.xlsx", name="web_planner_workbook")
def workbook(request: Request, user: Planner, engine: EngineDep, state: StateDep, lang: LangDep) -> Response:
    """The workbook ``sepadan plan --xlsx`` writes, without the trainees sheet (worker ids)."""
    choice = parse_choice(request.query_params, lang, budget=True)
    rp = plan_for(engine, state, choice, lang)
    sheets = [s for s in region_sheets(rp, lang) if s.name != "trainees"]
    with tempfile.TemporaryDirectory(prefix="sepadan-plan-") as folder:
        data = write_xlsx(Path(folder) / "plan.xlsx", sheets).read_bytes()
    return _download(data, XLSX, f"{_stem(choice, rp)}.xlsx")


@router.get("/planner/report.html", name="web_planner_report")
def report(request: Request, user: Planner, engine: EngineDep, state: StateDep, lang: LangDep) -> Response:
    """The HTML report ``sepadan plan --report`` writes (charts embedded), as one file to save."""
    choice = parse_choice(request.query_params, lang, budget=True)
    rp = plan_for(engine, state, choice, lang)
    with tempfile.TemporaryDirectory(prefix="sepadan-report-") as folder:
        data = write_report(Path(folder), rp, lang=lang).read_bytes()
    return _download(data, "text/html; charset=utf-8", f"{_stem(choice, rp)}.html",
                     csp="default-src 'none'; img-src data:; style-src 'unsafe-inline'")


def _stem(choice: Choice, rp: Any) -> str:
    return f"plan-{choice.region or 'all'}-{rp.summary.as_of.isoformat()}"


def _download(data: bytes, media: str, filename: str, *, csp: str | None = None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff"}
    if csp:
        headers["Content-Security-Policy"] = csp
    return Response(data, media_type=media, headers=headers)
