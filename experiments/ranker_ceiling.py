"""How many of the demo's hires a ranker could put in the eligible top k: ceilings and reference orders.

    python experiments/ranker_ceiling.py --home HOME [--today 2026-11-01] [--out experiments/results] [--version N]

On the held-out vacancies of ``sepadan train``'s split (same seed and share), the share of each
vacancy's hires in the top 10 and 30 (naive, as ``sepadan train`` reports it) for orders that no
deployable ranker has, read from the demo generator (``sepadan/demo_hiring.py``, its own model-free
profiles):

- **employers' utility**: the generator's noiseless hidden preference ``u`` (including distance);
- **officers' order**: the relevance officers ranked by (the logging policy, before its noise);
- **shown x utility**: ``P(shown | officers' rank) * sigmoid(slope * (u - hire_at))``, the naive
  share counting only hires among those officers showed;
- **expected shown x utility**: the same with ``P(shown)`` averaged over the officers' noise
  (``officer_noise``, :data:`DRAWS` draws per vacancy): many workers tie on the officers'
  relevance, so which of them were shown is decided by that noise, which no ranker can know. This
  is about the best any ranker can do for the naive share (competition for positions aside);

beside the transparent scorer, each both over the matcher's retrieved candidates (what the service
ranks: ANN and lexical retrieval, then scoring) and over the whole eligible pool (no retrieval), and
the share of hires the retrieval step reaches at all. Each share is also given inverse-propensity
weighted, every hire weighing ``1 / p(r)`` for the rank ``r`` it was shown at (the outcome rows'
``shown_rank``), as ``sepadan train`` weighs it: the naive share rewards agreeing with whom officers
showed, the weighted one estimates the share of would-be hires. Pools leave out the workers placed elsewhere
before each round began, as ``sepadan train`` does (:class:`sepadan.models.offline.Placements`). Writes ``OUT/ranker-ceiling.md`` and ``.json``.
The demo outcomes are synthetic: this says what the generator makes recoverable, nothing about real
placements.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from datetime import date
from pathlib import Path

import numpy as np

KS = (10, 30)
DRAWS = 200


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--today", default="2026-11-01")
    ap.add_argument("--out", type=Path, default=Path("experiments/results"))
    ap.add_argument("--version", type=int, default=None,
                    help="also rank by this registered sepadan-ranker version, and by its learned weights alone")
    args = ap.parse_args()
    body = run(args.home, date.fromisoformat(args.today), version=args.version)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ranker-ceiling.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    (args.out / "ranker-ceiling.md").write_text(markdown(body), encoding="utf-8")
    chart(body).savefig(args.out / "ranker-ceiling.png")
    print(markdown(body))


def run(home: Path, today: date, *, version: int | None = None) -> dict:
    from sepadan.config import Settings
    from sepadan.demo_hiring import Hiring, _Market
    from sepadan.engine import Engine
    from sepadan.ingest.importer import load_records
    from sepadan.matching.scorer import Scored
    from sepadan.models.offline import Placements, Pools, logged_ranks, rank_shortlists
    from sepadan.models.training import RELEVANT, TrainingConfig, holdout_mask, labels

    config, params = TrainingConfig(), Hiring()
    engine = Engine(Settings(home=home), today=today)
    matcher = engine.matcher
    outcomes = load_records(engine.store, "outcomes")
    graded = labels(outcomes)
    vids = sorted({v for v, _ in graded})
    held = [v for v, m in zip(vids, holdout_mask(vids, config.holdout, config.seed)) if m]
    placements = Placements.of(outcomes)
    pools = Pools.build(matcher, held, graded, relevant=RELEVANT, placements=placements)
    market = _Market(_demo_rows(), date(2026, 11, 1), None, frozenset())
    wpos = {w.id: i for i, w in enumerate(market.workers)}
    vpos = {v.id: i for i, v in enumerate(market.vacancies)}
    officer_rank = _officer_ranks(market, pools, wpos, vpos)
    expected_shown = _expected_shown(market, pools, vpos, params)

    def utility(w: str, v: str) -> float:
        return market.utility(wpos[w], vpos[v], params)

    def shown_hire(w: str, v: str) -> float:
        rank = officer_rank[v].get(w, 10**6)
        return params.shown_chance(rank) * _sigmoid(params.slope * (utility(w, v) - params.hire_at))

    def expected_hire(w: str, v: str) -> float:
        return expected_shown[v].get(w, 0.0) * _sigmoid(params.slope * (utility(w, v) - params.hire_at))

    orders = {"employers' utility": utility, "officers' order": lambda w, v: -officer_rank[v].get(w, 10**6),
              "shown x utility": shown_hire, "expected shown x utility": expected_hire}

    class ByFunction:
        def __init__(self, name, fn):
            self.version, self.fn = name, fn

        def score(self, pair, ctx):
            return Scored(self.fn(pair.worker.id, pair.vacancy.id), {})

    depth = max(KS)
    rows: dict[str, dict[str, float]] = {}
    transparent = engine.scorer.transparent
    # IPS weights from the rank each hire was shown at (the outcome rows' shown_rank)
    logged = rank_shortlists(matcher, transparent, pools, k=config.logging_depth)
    IPS.update({key: 1.0 / config.propensity(r) for key, r in logged_ranks(logged, pools, placements.shown).items()})
    recorded = sum(1 for key in IPS if key in placements.shown)
    IPS_SHOWN.update(graded)
    retrieved = {vid: [w for w in _retrieved(matcher, vid, depth + len(pools.placed.get(vid, ())))
                       if w not in pools.placed.get(vid, ())] for vid in pools.pools}  # what a shortlist scores
    rows["retrieval reaches (any order)"] = {f"at_{k}": _share(retrieved, pools, None) for k in KS}
    rows["transparent-1, retrieved"] = _shares(rank_shortlists(matcher, transparent, pools, k=depth), pools)
    if version is not None:
        from sepadan.models.registry import Registry
        from sepadan.models.serving import RankerScorer

        loaded = Registry.for_home(home).load(version)
        blend = getattr(loaded.model, "anchor_weight", 0.0)
        for name, model in ((f"{loaded.label} (anchor weight {blend:.2f})", loaded.model),
                            (f"{loaded.label}, learned weights alone", loaded.model.with_anchor_weight(0.0))):
            rows[f"{name}, retrieved"] = _shares(rank_shortlists(
                matcher, RankerScorer(model, transparent, version=name), pools, k=depth), pools)
    for name, fn in orders.items():
        rows[f"{name}, retrieved"] = _shares(rank_shortlists(matcher, ByFunction(name, fn), pools, k=depth), pools)
        rows[f"{name}, whole pool"] = _shares(_rank_pool(matcher, pools, fn, depth), pools)
    return {"today": today.isoformat(), "held_out_vacancies": len(held), "hires": len(IPS),
            "hires_with_recorded_shown_rank": recorded,
            "vacancies_with_hires_in_pool": sum(1 for h in pools.hired.values() if h),
            "hires_outside_pool": pools.outside,
            "workers_tied_with_the_officers_fifth_median": float(np.median(TIES)) if TIES else None,
            "workers_tied_with_the_officers_fifth_mean": float(np.mean(TIES)) if TIES else None, "rows": rows}


def _demo_rows() -> dict[str, list[dict]]:
    folder = Path(__file__).resolve().parents[1] / "data" / "demo"
    return {kind: [json.loads(line) for line in (folder / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
                   if line.strip()] for kind in ("agencies", "trainings", "workers", "vacancies")}


def _officer_ranks(market, pools, wpos, vpos) -> dict[str, dict[str, int]]:
    """Each held-out vacancy's eligible pool in the officers' order (their relevance, no noise)."""
    out = {}
    rng = random.Random(0)
    for vid in pools.pools:
        vi = vpos[vid]
        pool = [wi for wi in market.pool(vi) if market.workers[wi].id not in pools.placed.get(vid, ())]
        keyed = sorted((-(market.relevance(wi, vi)), rng.random(), wi) for wi in pool)
        out[vid] = {market.workers[wi].id: r for r, (_, _, wi) in enumerate(keyed, start=1)}
    return out


def _retrieved(matcher, vid: str, k: int) -> list[str]:
    """The candidates ``Matcher.shortlist(vid, k=k)`` retrieves before scoring (its own call)."""
    vpos = matcher.vacancies.position(vid, "vacancy")
    allowed = matcher.allowed(vid)
    from sepadan.matching.matcher import _query

    found = matcher._retrieve(matcher.workers, matcher.vacancies.index.vectors[vpos],
                              _query(matcher.vacancies.profiles[vpos]), allowed.rows, k, bits=allowed.bits)
    return [matcher.workers.records[p].id for p in found]


def _expected_shown(market, pools, vpos, params) -> dict[str, dict[str, float]]:
    """Each pool worker's chance of being shown, averaged over :data:`DRAWS` draws of the officers'
    noise; also logs how many workers tie with the fifth best on the officers' relevance."""
    rng = np.random.default_rng(0)
    chance = np.array([params.shown_chance(r) for r in range(1, 10**4 + 1)])
    out, ties = {}, []
    for vid in pools.pools:
        vi = vpos[vid]
        pool = [wi for wi in market.pool(vi) if market.workers[wi].id not in pools.placed.get(vid, ())]
        rel = np.array([market.relevance(wi, vi) for wi in pool])
        total = np.zeros(len(pool))
        for _ in range(DRAWS):
            noisy = rel + rng.normal(0.0, params.officer_noise, len(pool))
            ranks = np.empty(len(pool), dtype=np.int64)
            ranks[np.argsort(-noisy, kind="stable")] = np.arange(len(pool))
            total += chance[np.minimum(ranks, len(chance) - 1)]
        out[vid] = {market.workers[wi].id: float(t / DRAWS) for wi, t in zip(pool, total)}
        if len(rel) >= 5:
            fifth = np.sort(rel)[::-1][4]
            ties.append(int(np.sum(np.abs(rel - fifth) < 1e-9)))
    TIES.extend(ties)
    return out


TIES: list[int] = []


def _rank_pool(matcher, pools, fn, depth: int) -> dict[str, list[str]]:
    records = matcher.workers.records
    out = {}
    for vid, pool in pools.pools.items():
        ids = [records[p].id for p in pool]
        out[vid] = sorted(ids, key=lambda w: (-fn(w, vid), w))[:depth]
    return out


IPS: dict[tuple[str, str], float] = {}  # (vacancy, hire) -> 1 / propensity of the rank it was shown at


def _share(ranked: dict[str, list[str]], pools, k: int | None, *, ips: bool = False) -> float:
    def weight(v: str, w: str) -> float:
        return IPS[(v, w)] if ips else 1.0

    values = [sum(weight(v, w) for w in h & set(ranked[v][:k] if k else ranked[v])) / sum(weight(v, w) for w in h)
              for v, h in pools.hired.items() if h and v in ranked]
    return float(np.mean(values)) if values else float("nan")


def _shares(ranked, pools) -> dict[str, float]:
    shown = [np.mean([(v, w) in IPS_SHOWN for w in ranked[v][:10]]) for v in pools.pools if ranked.get(v)]
    return {**{f"at_{k}": _share(ranked, pools, k) for k in KS},
            **{f"ips_at_{k}": _share(ranked, pools, k, ips=True) for k in KS},
            "shown_in_top_10": float(np.mean(shown)) if shown else float("nan")}


IPS_SHOWN: set[tuple[str, str]] = set()  # (vacancy, worker) pairs with an outcome: shown to the employer


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def chart(body: dict):
    """Horizontal bars: each order's share of hires in the top 10 and 30, the 0.5 target marked."""
    from matplotlib.figure import Figure

    names = list(body["rows"])[::-1]
    fig = Figure(figsize=(8, 0.6 * len(names) + 1.4), dpi=100)
    ax = fig.add_subplot()
    ys = np.arange(len(names))
    for shift, k, colour, label in ((-0.27, "at_10", "#2a7ab9", "hires in top 10 (naive)"),
                                    (0.0, "ips_at_10", "#e67e22", "hires in top 10 (IPS)"),
                                    (0.27, "at_30", "#9ecae1", "hires in top 30 (naive)")):
        values = [body["rows"][n].get(k, float("nan")) for n in names]
        ax.barh(ys + shift, values, height=0.27, color=colour, label=label)
        for y, v in zip(ys, values):
            if v == v:
                ax.text(v + 0.01, y + shift, f"{v:.2f}", va="center", fontsize=6)
    ax.axvline(0.5, color="#c0392b", linestyle="--", linewidth=1, label="target at top 10 (0.5)")
    ax.set_yticks(ys, names, fontsize=8)
    ax.set_xlim(0, 1.4)
    ax.set_xlabel("share of a held-out vacancy's hires (naive; IPS: weighted by 1 / p(shown rank))")
    ax.set_title("Demo outcomes: what orders the generator knows would recover")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def markdown(body: dict) -> str:
    lines = ["# What share of the demo's hires a ranker could put in the eligible top k", "",
             f"Held-out vacancies of `sepadan train`'s split: {body['held_out_vacancies']} "
             f"({body['vacancies_with_hires_in_pool']} with hires in today's eligible pool; "
             f"{body['hires_outside_pool']} hires outside it), eligibility on {body['today']}. "
             "Orders read from the generator (`sepadan/demo_hiring.py`) are ceilings no deployable ranker has.", "",
             f"On the officers' relevance a median {body['workers_tied_with_the_officers_fifth_median']:.0f} "
             f"(mean {body['workers_tied_with_the_officers_fifth_mean']:.1f}) workers of a pool tie exactly with "
             "the fifth best, so the officers' noise decides which of them were shown.", "",
             f"IPS columns: each hire weighs 1 / p(rank it was shown at), as `sepadan train` weighs it; "
             f"{body['hires_with_recorded_shown_rank']} of {body['hires']} hires have the rank recorded on "
             "their outcome rows (`shown_rank`).", "",
             "Shown in top 10: the share of an order's top 10 that officers showed (has an outcome): the naive share "
             "can count a hire only there.", "",
             "| order | hires in top 10 | hires in top 30 | IPS top 10 | IPS top 30 | shown in top 10 |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, row in body["rows"].items():
        more = [f"{row[k]:.3f}" if k in row else "-" for k in ("ips_at_10", "ips_at_30", "shown_in_top_10")]
        lines.append(f"| {name} | {row['at_10']:.3f} | {row['at_30']:.3f} | " + " | ".join(more) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
