"""The data contract's output shape for shortlists, recommendations and explanations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sepadan.matching.matcher import Match, MatchList
from sepadan.matching.messages import render

Describe = Callable[[str], dict[str, Any]]


def match_list_json(ml: MatchList, *, lang: str = "id", describe: Describe | None = None) -> dict[str, Any]:
    """``{"vacancy_id"|"worker_id", "model_version", "results": [...]}``, in Indonesian or English."""
    subject = "vacancy_id" if ml.kind == "shortlist" else "worker_id"
    other = "worker_id" if ml.kind == "shortlist" else "vacancy_id"
    out: dict[str, Any] = {subject: ml.subject_id, "model_version": ml.model_version, "lang": lang}
    if ml.warnings:
        out["warnings"] = [render(k, p, lang) for k, p in ml.warnings]
    out["results"] = [match_json(m, rank=i, lang=lang, key=other, describe=describe)
                      for i, m in enumerate(ml.results, start=1)]
    return out


def match_json(m: Match, *, rank: int | None = None, lang: str = "id", key: str = "worker_id",
               describe: Describe | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {key: m.worker_id if key == "worker_id" else m.vacancy_id}
    if rank is not None:
        out["rank"] = rank
    if describe is not None:
        out.update(describe(out[key]))
    out |= {"score": m.score, "components": m.components,
            "reasons": _unique(render(k, p, lang) for k, p in m.reasons),
            "gaps": _unique(render(k, p, lang) for k, p in m.gaps)}
    if not m.eligible:
        out["eligible"] = False
        out["failed"] = [render(k, p, lang) for k, p in m.failed]
        out["rules"] = list(dict.fromkeys(m.failed_rules))
    return out


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))
