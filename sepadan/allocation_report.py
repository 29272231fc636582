"""An allocation as JSON and as tables (CSV, Excel), in Indonesian or English.

Tables: ``allocation`` (order, worker, score, reasons), ``orders`` (per order: allocated and also
considered), ``unfilled`` (positions without a proposal, and why), ``unallocated`` (workers in some
order's top-k who got no proposal), ``summary``. Worker ids and regions only: no names, no NIK.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from sepadan.allocate import Allocation, Unfilled
from sepadan.matching.messages import render
from sepadan.planning.report import Sheet, write_csv, write_xlsx

WHY_TEXT = {  # (Indonesian, English)
    "no_eligible_worker": ("tidak ada pekerja yang memenuhi syarat", "no eligible worker"),
    "taken_by_better_fits": ("kandidatnya diusulkan ke job order yang lebih cocok",
                             "its candidates were proposed to job orders they fit better"),
    "one_course_away": ("satu pelatihan lagi", "one course away"),
    "top_k_used": ("semua kandidat teratasnya sudah diusulkan ke sini; naikkan -k",
                   "every candidate of its top k is proposed to it; raise -k to consider more"),
}


def _i(lang: str) -> int:
    return 0 if lang == "id" else 1


def why_text(u: Unfilled, lang: str = "id") -> str:
    text = WHY_TEXT[u.why][_i(lang)]
    if u.courses:
        join = "; pelatihan: " if lang == "id" else "; courses: "
        text += join + ", ".join(_course(c, lang) for c in u.courses)
    return text


def _course(c: Any, lang: str) -> str:
    who = "pekerja, {f} belum diusulkan" if lang == "id" else "workers, {f} proposed nowhere"
    return f"{c.training_id} {c.title} ({c.workers} {who.format(f=c.free)})"


def allocation_json(a: Allocation, *, lang: str = "id") -> dict[str, Any]:
    """The allocation with reasons rendered in ``lang``."""
    return {
        "id": a.id, "created_at": a.created_at, "replaces": a.replaces, "model_version": a.model_version,
        "fingerprint": a.fingerprint, "as_of": a.as_of.isoformat(), "lang": lang, "request": a.request.params(),
        "method": a.method, "objective": a.objective, "summary": summary(a),
        "allocated": asdict(a.allocated), "independent": asdict(a.independent),
        "quotas": [asdict(q) for q in a.quotas],
        "orders": [_order_json(v, lang) for v in a.views],
        "unfilled": [asdict(u) | {"why_text": why_text(u, lang)} for u in a.unfilled],
        "unallocated": [asdict(i) for i in a.idle],
    }


def _order_json(v: Any, lang: str) -> dict[str, Any]:
    return {"vacancy_id": v.vacancy_id, "title": v.title, "country": v.country, "agency": v.agency,
            "positions": v.positions, "slots": v.slots,
            "allocated": [{"worker_id": p.worker_id, "region": p.region, "rank": p.rank, "score": p.score,
                           "reasons": _reasons(p.reasons, lang)} for p in v.allocated],
            "also_considered": [asdict(c) for c in v.considered]}


def _reasons(reasons: Any, lang: str) -> list[str]:
    return list(dict.fromkeys(render(k, p, lang) for k, p in reasons))


def summary(a: Allocation) -> dict[str, Any]:
    return {"orders": a.orders, "positions": a.positions, "slots": a.slots, "candidates": a.candidates,
            "candidate_workers": a.candidate_workers, "proposals": a.allocated.proposals,
            "distinct_workers": a.allocated.distinct_workers, "positions_covered": a.allocated.positions_covered,
            "positions_fillable": a.allocated.positions_fillable, "total_score": a.allocated.total_score,
            "unfilled_positions": sum(u.unfilled for u in a.unfilled), "unallocated_workers": len(a.idle),
            "seconds": round(a.seconds, 3)}


ALLOCATION_COLUMNS = ("vacancy_id", "title", "country", "worker_id", "region", "rank", "score", "reasons")
ORDER_COLUMNS = ("vacancy_id", "title", "positions", "slots", "allocated", "also_considered")
UNFILLED_COLUMNS = ("vacancy_id", "title", "positions", "unfilled", "why", "taken_by", "courses")
IDLE_COLUMNS = ("worker_id", "region", "best_score", "considered_for")


def allocation_sheets(a: Allocation, lang: str = "id") -> list[Sheet]:
    rows = tuple((v.vacancy_id, v.title, v.country, p.worker_id, p.region, p.rank, p.score,
                  " | ".join(_reasons(p.reasons, lang))) for v in a.views for p in v.allocated)
    orders = tuple((v.vacancy_id, v.title, v.positions, v.slots, " ".join(p.worker_id for p in v.allocated),
                    " ".join(_considered(c) for c in v.considered)) for v in a.views)
    unfilled = tuple((u.vacancy_id, u.title, u.positions, u.unfilled, WHY_TEXT[u.why][_i(lang)], " ".join(u.taken_by),
                      " | ".join(_course(c, lang) for c in u.courses)) for u in a.unfilled)
    idle = tuple((i.worker_id, i.region, i.best_score, " ".join(i.considered_for)) for i in a.idle)
    facts = tuple((k, v) for k, v in {"id": a.id, "model_version": a.model_version, "fingerprint": a.fingerprint,
                                      **summary(a)}.items())
    return [Sheet("allocation", ALLOCATION_COLUMNS, rows), Sheet("orders", ORDER_COLUMNS, orders),
            Sheet("unfilled", UNFILLED_COLUMNS, unfilled), Sheet("unallocated", IDLE_COLUMNS, idle),
            Sheet("summary", ("measure", "value"), facts)]


def _considered(c: Any) -> str:
    return f"{c.worker_id}->{','.join(c.proposed_to)}" if c.proposed_to else c.worker_id


def write_tables(a: Allocation, *, lang: str = "id", csv: Path | None = None, xlsx: Path | None = None) -> list[Path]:
    """CSV (``csv``, plus ``STEM-NAME.csv`` for the other tables) and/or one Excel workbook."""
    sheets = allocation_sheets(a, lang)
    written: list[Path] = []
    if csv is not None:
        written += write_csv(csv, sheets, main="allocation")
    if xlsx is not None:
        written.append(write_xlsx(xlsx, sheets))
    return written
