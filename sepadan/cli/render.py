"""Shortlists and recommendations on a terminal: a compact view and the wide table.

The compact view (the default) gives each result one line (rank, id, the extra columns, score and
the top two reasons) and a second line with its top gap, every line cut to the terminal's width, so
ten results fit one 80-column screen. ``--wide`` prints the full table: up to four reasons and four
gaps a row, folded over as many lines as they take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

REASONS, GAPS = 2, 1
WIDE_REASONS, WIDE_GAPS = 4, 4
EXTRA_MAX = {"title": 22, "region": 6, "country": 3, "proposed_elsewhere": 3}
WORDS = {  # (Indonesian, English)
    "gap": ("kurang", "lacks"), "ineligible": ("TIDAK LAYAK", "NOT ELIGIBLE"),
    "none": ("tidak ada hasil yang memenuhi syarat", "no eligible results"),
    "wide": ("--wide: semua alasan dan kekurangan", "--wide: every reason and gap"),
}


def print_results(console: Console, body: dict[str, Any], *, title: str, id_key: str,
                  extra: Sequence[str], wide: bool = False) -> None:
    """Print warnings, the results (compact, or the wide table) and the model version."""
    lang = body.get("lang", "id")
    for w in body.get("warnings", []):
        console.print(f"[bold red]warning:[/] {w}")
    if wide:
        console.print(wide_table(body, title=title, id_key=id_key, extra=extra))
    else:
        for line in compact_lines(body, title=title, id_key=id_key, extra=extra, width=console.width):
            console.print(line, markup=False, highlight=False, soft_wrap=False, overflow="ignore", crop=False)
    if not body["results"]:
        console.print(_word("none", lang))
    hint = "" if wide or not body["results"] else f" ({_word('wide', lang)})"
    console.print(f"model: {body['model_version']}{hint}", markup=False, highlight=False)


def compact_lines(body: dict[str, Any], *, title: str, id_key: str, extra: Sequence[str],
                  width: int = 80) -> list[str]:
    """The compact view as lines no longer than ``width``."""
    lang = body.get("lang", "id")
    results = body["results"]
    heads = ["#", id_key.removesuffix("_id"), *extra, "score"]
    cells = [[str(r["rank"]), str(r[id_key]), *(_extra(r, e) for e in extra), f"{r['score']:.3f}"]
             for r in results]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(heads)]
    lead = sum(widths) + 2 * len(widths)
    why_head = "why / gap" if lang == "en" else "alasan / kurang"
    lines = [_cut(title, width), _cut(_row(heads, widths) + "  " + why_head, width)]
    for r, row in zip(results, cells):
        lines.append(_cut(_row(row, widths) + "  " + _why(r, lang), width))
        gap = r["gaps"][:GAPS]
        if gap:
            lines.append(_cut(" " * lead + f"{_word('gap', lang)}: " + "; ".join(gap), width))
    return lines


def wide_table(body: dict[str, Any], *, title: str, id_key: str, extra: Sequence[str]) -> Table:
    """Everything: up to four reasons and four gaps a row, folded over lines."""
    table = Table(title=title, show_lines=True)
    for col in ("#", id_key.removesuffix("_id"), *extra, "score", "why", "gaps"):
        table.add_column(col, overflow="fold")
    lang = body.get("lang", "id")
    for r in body["results"]:
        why = "; ".join(r["reasons"][:WIDE_REASONS])
        if r.get("eligible") is False:
            why = f"{_word('ineligible', lang)}: " + "; ".join(r["failed"]) + ("; " + why if why else "")
        table.add_row(str(r["rank"]), r[id_key], *(str(r.get(e) or "-") for e in extra), f"{r['score']:.3f}",
                      why, "; ".join(r["gaps"][:WIDE_GAPS]) or "-")
    return table


def _why(r: dict[str, Any], lang: str) -> str:
    reasons = "; ".join(r["reasons"][:REASONS])
    if r.get("eligible") is False:
        failed = "; ".join(r.get("failed", [])[:1])
        return f"{_word('ineligible', lang)}: {failed}" + (f"; {reasons}" if reasons else "")
    return reasons or "-"


def _extra(r: dict[str, Any], name: str) -> str:
    value = str(r.get(name) or "-")
    return _cut(value, EXTRA_MAX.get(name, 12))


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _word(key: str, lang: str) -> str:
    return WORDS[key][0 if lang == "id" else 1]
