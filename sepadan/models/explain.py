"""The score taken apart: per-feature contributions that add up to the score a worker was ranked by.

For a learned ranker (:class:`~sepadan.models.ranker.MonotoneRanker`) the parts are exact: the
model is a weighted sum of features scaled to [0, 1], so each part is ``weight * scaled value`` and
the parts add up to the score. For the transparent scorer they are its weighted mean taken apart
(``weight * component / sum of the applying weights``). Either way the transparent scorer's
components, reasons and gaps stay beside them as the rules and evidence an officer can check.

:func:`explain_parts` is what the edges (``sepadan explain``, ``GET /v1/workers/{id}/explain/{vacancy_id}``)
add to an explanation: ``score_parts`` (the serving model's version, its score, the parts, largest
first) and ``rules_and_evidence`` (the transparent scorer's version, score and components).
"""

from __future__ import annotations

from typing import Any

from sepadan.matching.eligibility import Context
from sepadan.matching.matcher import Matcher
from sepadan.matching.scorer import Pair, TransparentScorer
from sepadan.models.features import pair_for
from sepadan.models.serving import ChampionScorer, RankerScorer


def transparent_parts(scorer: TransparentScorer, pair: Pair, ctx: Context) -> list[tuple[str, float, float]]:
    """``(component, value, contribution)``: the transparent score's weighted mean taken apart."""
    comps, _, _ = scorer.components(pair, ctx)
    norm = sum(scorer.weights[k] for k in comps)
    return [(k, float(v), scorer.weights[k] * v / norm if norm else 0.0) for k, v in comps.items()]


def score_parts(scorer: Any, pair: Pair, ctx: Context) -> dict[str, Any] | None:
    """``{"model_version", "score", "parts": [{"feature", "value", "contribution"}]}`` for the model
    ``scorer`` serves now (a champion's current model), or None for a scorer it cannot take apart."""
    active = scorer.current if isinstance(scorer, ChampionScorer) else scorer
    if isinstance(active, RankerScorer):
        parts = active.parts(pair, ctx)
    elif isinstance(active, TransparentScorer):
        parts = transparent_parts(active, pair, ctx)
    else:
        return None
    ordered = sorted(parts, key=lambda p: (-p[2], p[0]))
    return {"model_version": active.version, "score": round(sum(p[2] for p in parts), 4),
            "parts": [{"feature": name, "value": round(value, 4), "contribution": round(part, 4)}
                      for name, value, part in ordered]}


def rules_and_evidence(transparent: TransparentScorer, pair: Pair, ctx: Context) -> dict[str, Any]:
    scored = transparent.score(pair, ctx)
    return {"model_version": transparent.version, "score": scored.score, "components": scored.components}


def explain_parts(matcher: Matcher, worker_id: str, vacancy_id: str) -> dict[str, Any]:
    """``{"score_parts": ..., "rules_and_evidence": ...}`` for one pair, to add to an explanation."""
    pair = pair_for(matcher, worker_id, vacancy_id)
    scorer = matcher.scorer
    transparent = getattr(scorer, "transparent", scorer)
    out: dict[str, Any] = {"score_parts": score_parts(scorer, pair, matcher.ctx)}
    if isinstance(transparent, TransparentScorer):
        out["rules_and_evidence"] = rules_and_evidence(transparent, pair, matcher.ctx)
    return out
