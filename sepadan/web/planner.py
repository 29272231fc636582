"""Web pages for training planners: demand against supply, gaps, charts, the plan within a budget, downloads.

Aggregates only, as the API's ``demand_gaps`` route (the operation these pages require): no name, NIK
or worker id on any planner page or download. A region (Kemendagri code) and a period (from: the
"as of" day the engine plans for, never before today; to: the last day a course may start) are
picked on ``/planner``, which shows what :meth:`Engine.gap_report <sepadan.engine.Engine.gap_report>`
returns: the summary, the gap table and its charts. The plan form (CSRF-checked POST) leads to
``/planner/plan``, which shows what :meth:`Engine.plan_region <sepadan.engine.Engine.plan_region>`
returns for the typed budget (the optimiser ``sepadan plan`` runs), and offers the Excel workbook and
the HTML report of :mod:`sepadan.planning.report` for the same region, period and budget. Both are
worked out in the background (:mod:`sepadan.web.planner_jobs`), once per matcher, choice and language:
until the answer is there the page says what is being worked out and since when, and refreshes itself;
the page and its downloads hold the same plan. After load the national overview and each province's
overview are worked out ahead (setting ``web_planner_warm``). The workbook leaves out the CLI's
``trainees`` sheet (worker ids).
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sepadan.api.deps import EngineDep, StateDep
from sepadan.engine import Engine
from sepadan.planning.demand import Scope
from sepadan.planning.report import DIMS, STATUS, cohort_rows, head, label, money, region_sheets, summary_items
from sepadan.planning.report import write_report, write_xlsx
from sepadan.web import i18n
from sepadan.web.deps import CsrfForm, LangDep, PageError, User, render, require
from sepadan.web.planner_charts import DESTINATIONS, REQUIREMENTS, demand_supply_svg, number, pick
from sepadan.web.planner_jobs import USER, WARM, Job, Jobs, warm_when_ready

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Per app: the planner's job pool, and (setting ``web_planner_warm``) the warming of the common answers."""
    jobs = app_jobs(app)
    jobs.open()
    state = app.state.sepadan
    warmer = getattr(app.state, "planner_warmer", None)
    if state.engine.settings.web_planner_warm and (warmer is None or not warmer.is_alive()):
        app.state.planner_warmer = warm_when_ready(state, jobs, lambda: warm(state.engine, state, jobs))
    yield
    jobs.close()


router = APIRouter(include_in_schema=False, lifespan=_lifespan)
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
    "planner.build.slow": ("Rencana disusun di latar belakang: halaman berikutnya menunjukkan kemajuannya (pertama "
                           "kali beberapa detik untuk satu provinsi, sampai dua menit untuk semua wilayah); setelah "
                           "itu hasilnya tersimpan sampai data berubah.",
                           "The plan is worked out in the background: the next page shows how far it is (the first "
                           "time some seconds for a province, up to two minutes for all regions); after that it is "
                           "kept until the data change."),
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
    "planner.wait.title": ("Sedang dihitung", "Being worked out"),
    "planner.wait.gaps": ("Permintaan, pasokan dan tabel kesenjangan: {r}, per {d}",
                          "Demand, supply and the gap table: {r}, as of {d}"),
    "planner.wait.plan": ("Rencana pelatihan: {r}, per {d}, anggaran {b}", "Training plan: {r}, as of {d}, budget {b}"),
    "planner.wait.running": ("Sedang dihitung sejak {t} ({s} detik).", "Being worked out since {t} ({s} seconds)."),
    "planner.wait.queued": ("Menunggu giliran sejak {t} ({s} detik): {n} perhitungan lain lebih dulu.",
                            "Waiting since {t} ({s} seconds): {n} other computations first."),
    "planner.wait.refresh": ("Halaman ini memuat ulang sendiri setiap {n} detik dan menampilkan hasilnya begitu "
                             "selesai. Hasilnya disimpan sampai data berubah, juga untuk perencana lain.",
                             "This page reloads itself every {n} seconds and shows the result once it is ready. "
                             "The result is kept until the data change, for other planners too."),
    "planner.wait.typical": ("Pertama kali: beberapa detik untuk satu provinsi, sampai dua menit untuk rencana "
                             "semua wilayah.", "The first time: some seconds for a province, up to two minutes "
                             "for a plan of all regions."),
    "planner.wait.reload": ("Muat ulang sekarang", "Reload now"),
    "planner.failed": ("Perhitungan gagal", "The computation failed"),
    "planner.failed.what": ("Dimulai {t}, gagal setelah {s} detik.", "Started {t}, failed after {s} seconds."),
    "planner.failed.reason": ("Alasan", "Reason"),
    "planner.failed.retry": ("Coba lagi", "Try again"),
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


# -- what the pages show: the engine's answers, worked out in the background -------------------

_JOBS_LOCK = threading.Lock()


def app_jobs(app: FastAPI) -> Jobs:
    """The app's job pool (made on first use)."""
    with _JOBS_LOCK:
        jobs = getattr(app.state, "planner_jobs", None)
        if jobs is None:
            jobs = app.state.planner_jobs = Jobs(app.state.sepadan.engine, clock=lambda: app.state.web.clock())
        return jobs


def gaps_key(choice: Choice, lang: str) -> tuple:
    return ("web-planner-gaps", choice.region, choice.start, choice.end, lang)


def plan_key(choice: Choice, lang: str) -> tuple:
    return ("web-planner-plan", choice.region, choice.start, choice.end, choice.budget, lang)


def gaps_for(engine: Engine, state: Any, choice: Choice, lang: str) -> Callable[[], Any]:
    """Work out ``Engine.gap_report`` for the choice: (Summary, gap rows), as the API's demand_gaps does."""
    def compute() -> Any:
        started = time.perf_counter()
        region_choices(engine, state)  # the picker's regions, from the same planning view
        answer = engine.gap_report(choice.scope, lang=lang)
        log.info("gap report of region %s in %.1f s", choice.region or "all", time.perf_counter() - started)
        return answer

    return compute


def plan_for(engine: Engine, state: Any, choice: Choice, lang: str) -> Callable[[], Any]:
    """Work out ``Engine.plan_region`` for the choice and its budget: the RegionPlan the page and its downloads show."""
    def compute() -> Any:
        started = time.perf_counter()
        region_choices(engine, state)
        rp = engine.plan_region(choice.scope, budget=choice.budget, time_limit=TIME_LIMIT, lang=lang)
        log.info("planned region %s (%d job orders, %d candidates) in %.1f s", choice.region or "all",
                 len(rp.job_orders), len(rp.problem.candidates), time.perf_counter() - started)
        return rp

    return compute


def warm(engine: Engine, state: Any, jobs: Jobs, *, lang: str = i18n.DEFAULT) -> int:
    """Queue the overviews planners open first (all regions, then each province), behind any request."""
    provinces = sorted({w.region.split(".")[0] for w in engine.matcher.workers.records if w.region})
    choices = [Choice()] + [Choice(region=p) for p in provinces]
    for choice in choices:
        jobs.get(gaps_key(choice, lang), gaps_for(engine, state, choice, lang), priority=WARM)
    return len(choices)


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
    job = _job(request, gaps_key(choice, lang), gaps_for(engine, state, choice, lang))
    if not job.done:
        return _not_yet(request, user, engine, job, choice, lang)
    summary, table = job.value
    return render(request, "planner.html", _context(engine, state, choice, lang, summary, table, rows), user=user)


@router.post("/planner/plan", name="web_planner_plan_form")
def plan_form(request: Request, form: CsrfForm, user: Planner, lang: LangDep) -> Response:
    """The plan form: to the plan's page, which says how far the plan is until it shows it."""
    choice = parse_choice(form, lang, budget=True)
    return RedirectResponse(f"/planner/plan?{choice.query()}", status_code=303)


@router.get("/planner/plan", name="web_planner_plan", response_class=HTMLResponse)
def plan_page(request: Request, user: Planner, engine: EngineDep, state: StateDep, lang: LangDep,
              rows: Rows = 50) -> Response:
    choice = parse_choice(request.query_params, lang, budget=True)
    job = _job(request, plan_key(choice, lang), plan_for(engine, state, choice, lang))
    if not job.done:
        return _not_yet(request, user, engine, job, choice, lang, plan=True)
    rp = job.value
    context = _context(engine, state, choice, lang, rp.summary, list(rp.rows), rows)
    figures = dict(summary_items(rp))
    context |= {"rp": rp, "plan": rp.plan, "figures": figures, "cohorts": cohort_rows(rp),
                "full_query": choice.query()}
    return render(request, "planner_plan.html", context, user=user)


@router.get("/planner/plan.xlsx", name="web_planner_workbook")
def workbook(request: Request, user: Planner, engine: EngineDep, state: StateDep, lang: LangDep) -> Response:
    """The workbook ``sepadan plan --xlsx`` writes, without the trainees sheet (worker ids)."""
    choice = parse_choice(request.query_params, lang, budget=True)
    rp = _finished(request, plan_key(choice, lang), plan_for(engine, state, choice, lang))
    sheets = [s for s in region_sheets(rp, lang) if s.name != "trainees"]
    with tempfile.TemporaryDirectory(prefix="sepadan-plan-") as folder:
        data = write_xlsx(Path(folder) / "plan.xlsx", sheets).read_bytes()
    return _download(data, XLSX, f"{_stem(choice, rp)}.xlsx")


@router.get("/planner/report.html", name="web_planner_report")
def report(request: Request, user: Planner, engine: EngineDep, state: StateDep, lang: LangDep) -> Response:
    """The HTML report ``sepadan plan --report`` writes (charts embedded), as one file to save."""
    choice = parse_choice(request.query_params, lang, budget=True)
    rp = _finished(request, plan_key(choice, lang), plan_for(engine, state, choice, lang))
    with tempfile.TemporaryDirectory(prefix="sepadan-report-") as folder:
        data = write_report(Path(folder), rp, lang=lang).read_bytes()
    return _download(data, "text/html; charset=utf-8", f"{_stem(choice, rp)}.html",
                     csp="default-src 'none'; img-src data:; style-src 'unsafe-inline'")


# -- while the answer is worked out ----------------------------------------------------------------

def _job(request: Request, key: tuple, compute: Callable[[], Any]) -> Job:
    jobs = app_jobs(request.app)
    if request.query_params.get("retry"):
        jobs.forget_failure(key)  # "try again" on the failure page
    return jobs.get(key, compute, priority=USER)


def _finished(request: Request, key: tuple, compute: Callable[[], Any]) -> Any:
    """A download: the answer, waiting on the page's computation if it is still running."""
    job = app_jobs(request.app).wait(key, compute)
    if not job.done:
        raise PageError(500, "planner.failed", job.reason)
    return job.value


def _not_yet(request: Request, user: User, engine: Engine, job: Job, choice: Choice, lang: str, *,
             plan: bool = False) -> Response:
    """The page said while the answer is worked out (it refreshes itself), or why it failed."""
    t = i18n.translator(lang)
    where = t("planner.region.all") if not choice.region else choice.region
    as_of = choice.start or engine.matcher.ctx.today
    what = (t("planner.wait.plan", r=where, d=as_of, b=t("planner.p.no_budget") if choice.budget is None
              else money(choice.budget, lang)) if plan else t("planner.wait.gaps", r=where, d=as_of))
    jobs = app_jobs(request.app)
    now = jobs.now()
    elapsed = max(0, int((now - job.since).total_seconds()))
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "retry"]
    context = {"job": job, "what": what, "since": job.since.strftime("%H:%M:%S %Z").strip(), "elapsed": elapsed,
               "ahead": jobs.waiting(job), "refresh": _refresh(elapsed),
               "again": request.url.path + ("?" + urlencode(query) if query else ""),
               "retry": request.url.path + "?" + urlencode(query + [("retry", "1")])}
    status = 500 if job.state == "failed" else 200
    return render(request, "planner_wait.html", context, user=user, status=status)


def _refresh(elapsed: int) -> int:
    """Seconds until the page asks again: soon at first, less often for a long computation."""
    return 2 if elapsed < 10 else 5 if elapsed < 60 else 10


def _stem(choice: Choice, rp: Any) -> str:
    return f"plan-{choice.region or 'all'}-{rp.summary.as_of.isoformat()}"


def _download(data: bytes, media: str, filename: str, *, csp: str | None = None) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff"}
    if csp:
        headers["Content-Security-Policy"] = csp
    return Response(data, media_type=media, headers=headers)
