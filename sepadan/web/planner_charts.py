"""Inline SVG charts for the planner pages: demand against supply, one row per requirement or destination.

Drawn on the server from the gap rows that :func:`sepadan.planning.demand.gap_report` and
:func:`~sepadan.planning.demand.plan_region` return; nothing is computed here but the geometry.
Bars are placed in percentages of the chart's width (no ``viewBox``), so the text keeps its size and
stays readable on a 375 px phone while the bars stretch to the width there is. Each row has its
label, a line of demand figures over the demand bar (positions: filled now, added by the plan, still
unfilled) and a line of supply figures over the supply bar (workers of the region who meet the
requirement; for a destination, workers eligible for one of its job orders), all bars on one scale.
Every text is escaped with :func:`markupsafe.escape`; each row carries its figures as ``data-``
attributes, the same numbers as the gap table's row.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from sepadan.planning.demand import GapRow
from sepadan.planning.report import COLOURS, label
from sepadan.web import i18n

REQUIREMENTS = ("skill", "language", "certificate")
DESTINATIONS = ("destination",)
SUPPLY_COLOUR = "#ef6c00"
ROW = 84  # px per row: label, demand figures, demand bar, supply figures, supply bar
LEGEND_LINE = 18
LABEL_WIDTH = 40  # characters of a label shown (the whole label is in the row's tooltip and the table)

i18n.extend({
    "planner.chart.filled": ("terisi kini", "filled now"),
    "planner.chart.added": ("terisi berkat rencana", "filled by the plan"),
    "planner.chart.unfilled": ("masih kosong", "still unfilled"),
    "planner.chart.supply_meet": ("pasokan: pekerja yang memenuhi", "supply: workers who meet it"),
    "planner.chart.supply_eligible": ("pasokan: pekerja yang memenuhi syarat", "supply: eligible workers"),
    "planner.chart.demand_line": ("permintaan: {p} posisi · {f} terisi", "demand: {p} positions · {f} filled"),
    "planner.chart.added_line": (" · +{n} rencana", " · +{n} by the plan"),
    "planner.chart.meet_line": ("pasokan: {n} pekerja memenuhi", "supply: {n} workers meet it"),
    "planner.chart.eligible_line": ("pasokan: {n} pekerja memenuhi syarat", "supply: {n} eligible workers"),
    "planner.chart.no_training": (" · tidak ada pelatihan", " · no course teaches it"),
})


def number(value: int | float, lang: str) -> str:
    """1.222 in Indonesian, 1,222 in English."""
    text = f"{value:,.0f}"
    return text.replace(",", ".") if lang == "id" else text


def pick(rows: Sequence[GapRow], dimensions: Sequence[str], *, top: int = 12) -> list[GapRow]:
    """The ``top`` rows of the given dimensions with the most positions (ties by label), as drawn."""
    chosen = [r for r in rows if r.dimension in dimensions]
    return sorted(chosen, key=lambda r: (-r.positions, r.label, r.key))[:top]


def supply(r: GapRow) -> int:
    """A requirement's supply is the workers who meet it; a destination's, the workers eligible there."""
    return r.meet if r.meet is not None else r.eligible


def demand_supply_svg(rows: Sequence[GapRow], *, title: str, lang: str = "id") -> Markup:
    """One chart as inline SVG markup (every text escaped); an empty string when there are no rows."""
    if not rows:
        return Markup("")
    t = i18n.translator(lang)
    scale = max([r.positions for r in rows] + [supply(r) for r in rows] + [1])
    legend = _legend(t, all(r.meet is None for r in rows))
    top = len(legend) * LEGEND_LINE + 10
    height = top + ROW * len(rows)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="planner-chart" width="100%" height="{height}" '
             f'role="img" aria-label="{escape(title)}" font-family="system-ui,sans-serif">',
             f"<title>{escape(title)}</title>"]
    parts += [_legend_line(i, colour, text) for i, (colour, text) in enumerate(legend)]
    parts += [_row(top + i * ROW, r, scale, lang, t) for i, r in enumerate(rows)]
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(t, destinations: bool) -> list[tuple[str, str]]:  # noqa: ANN001 - the translator
    return [(COLOURS["filled"], t("planner.chart.filled")), (COLOURS["added"], t("planner.chart.added")),
            (COLOURS["unfilled"], t("planner.chart.unfilled")),
            (SUPPLY_COLOUR, t("planner.chart.supply_eligible" if destinations else "planner.chart.supply_meet"))]


def _legend_line(i: int, colour: str, text: str) -> str:
    y = i * LEGEND_LINE
    return (f'<rect x="0" y="{y + 3}" width="12" height="12" fill="{colour}" stroke="#90a4ae" stroke-width=".5"/>'
            f'<text x="18" y="{y + 13}" font-size="12" fill="#37474f">{escape(text)}</text>')


def _row(y: int, r: GapRow, scale: int, lang: str, t) -> str:  # noqa: ANN001 - the translator
    added = max(0, r.with_plan - r.filled)
    rest = max(0, r.positions - r.filled - added)
    name, have, late = label(r, lang), supply(r), r.status == "no training"
    demand = (t("planner.chart.demand_line", p=number(r.positions, lang), f=number(r.filled, lang))
              + (t("planner.chart.added_line", n=number(added, lang)) if added else "")
              + (t("planner.chart.no_training") if late else ""))
    offer = t("planner.chart.meet_line" if r.meet is not None else "planner.chart.eligible_line",
              n=number(have, lang))
    data = (f'data-dimension="{escape(r.dimension)}" data-key="{escape(r.key)}" data-positions="{r.positions}" '
            f'data-filled="{r.filled}" data-with-plan="{r.with_plan}" data-supply="{have}"')
    out = [f'<g class="planner-row" {data}><title>{escape(name)}: {escape(demand)}; {escape(offer)}</title>',
           f'<text x="0" y="{y + 14}" font-size="13" font-weight="600" fill="{"#b42318" if late else "#212121"}">'
           f"{escape(_short(name))}</text>",
           f'<text x="0" y="{y + 31}" font-size="12" fill="#455a64">{escape(demand)}</text>']
    left = 0.0
    for value, colour in ((r.filled, COLOURS["filled"]), (added, COLOURS["added"]), (rest, COLOURS["unfilled"])):
        width = 100 * value / scale
        if width > 0:
            out.append(f'<rect x="{left:.2f}%" y="{y + 36}" width="{width:.2f}%" height="12" fill="{colour}"/>')
        left += width
    out.append(f'<text x="0" y="{y + 65}" font-size="12" fill="#455a64">{escape(offer)}</text>')
    if have:
        out.append(f'<rect x="0" y="{y + 70}" width="{100 * have / scale:.2f}%" height="8" fill="{SUPPLY_COLOUR}"/>')
    out.append("</g>")
    return "".join(out)


def _short(text: str, width: int = LABEL_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
