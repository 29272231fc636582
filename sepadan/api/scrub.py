"""Masking NIKs out of a response body (the portal's): by pattern and by the NIKs in the store.

Two passes over the whole body, so no form a NIK is written in, and no place it sits, lets it through:

1. **Stored NIKs.** Every run of 16 digits, wherever it starts and whatever (up to three characters
   of punctuation or space) stands between its digits, is looked up by its keyed HMAC among the
   workers' stored HMACs; a hit is masked. No plaintext NIK is needed or kept.
2. **Pattern.** Any chain of at least 16 digits joined by at most one space, dot or dash
   (``3504045111960001``, ``ref.3504045111960001``, ``3504 0451 1196 0001``,
   ``35.04.04.511196.0001``) is masked, stored or not. A chain is found by its digits, so a dot, a
   letter or a longer number around it does not defeat the mask.

A JSON body is parsed first, so escapes (``\\u0033``, ``\\"``) cannot hide digits: every string (keys
included) is masked as text and every number of 16 or more digits becomes a masked string; a
float's decimals are left alone (a score is not a NIK). Other bodies are masked as text. Masking
keeps the last four digits and every separator; the body is re-encoded only if something changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Any

import orjson

NIK_DIGITS = 16
_CHAIN = re.compile(r"[0-9](?:[\s.\-]?[0-9])*")  # digits joined by at most one separator
_LOOSE = re.compile(r"[0-9](?:[\W_]{0,3}[0-9])*")  # digits joined by up to three non-letters
_MAX_CANDIDATES = 50_000  # digit windows looked up per body; past this the pattern pass still masks
Lookup = Callable[[Collection[str]], Collection[str]]


class NikMask:
    """``mac(nik)`` is the store's keyed HMAC; ``known(macs)`` answers which of them are stored.
    Without them only the pattern pass runs."""

    def __init__(self, *, mac: Callable[[str], str] | None = None, known: Lookup | None = None) -> None:
        self.mac, self.known = mac, known

    def body(self, payload: bytes, content_type: str = "") -> bytes:
        """The body with every NIK masked (the same bytes if there was none)."""
        if "json" in content_type:
            try:
                doc = orjson.loads(payload)
            except orjson.JSONDecodeError:
                doc = _NOT_JSON
            if doc is not _NOT_JSON:
                masked = self._masked_json(doc)
                return payload if masked == doc else orjson.dumps(masked)
        text = payload.decode("utf-8", "surrogateescape")
        masked_text = self.text(text)
        return payload if masked_text == text else masked_text.encode("utf-8", "surrogateescape")

    def text(self, text: str) -> str:
        return self.texts([text])[0]

    def texts(self, texts: list[str]) -> list[str]:
        """Both passes over each text; one store lookup for all of them."""
        stored = self._stored_windows(texts)
        return [mask_pattern(_mask_spans(t, stored.get(i, ()))) for i, t in enumerate(texts)]

    def _stored_windows(self, texts: list[str]) -> dict[int, list[list[int]]]:
        """Per text, the digit positions of each 16-digit window whose HMAC is a stored NIK's."""
        if self.mac is None or self.known is None:
            return {}
        windows: dict[str, list[tuple[int, list[int]]]] = {}
        for i, text in enumerate(texts):
            for positions in _digit_windows(text):
                if len(windows) >= _MAX_CANDIDATES:
                    break
                nik = "".join(text[p] for p in positions)
                windows.setdefault(self.mac(nik), []).append((i, positions))
        found: dict[int, list[list[int]]] = {}
        for mac in self.known(list(windows)) if windows else ():
            for i, positions in windows.get(mac, ()):
                found.setdefault(i, []).append(positions)
        return found

    def _masked_json(self, doc: Any) -> Any:
        strings: list[str] = []
        _collect(doc, strings)
        masked = dict(zip(strings, self.texts(strings), strict=True)) if strings else {}
        return _rebuild(doc, masked)


_NOT_JSON = object()


def mask_pattern(text: str) -> str:
    """Every chain of 16 or more digits (at most one space, dot or dash between two) masked to its
    last four digits."""
    return _CHAIN.sub(_mask_chain, text)


def _mask_chain(match: re.Match[str]) -> str:
    chain = match.group()
    digits = [i for i, c in enumerate(chain) if c.isdigit()]
    if len(digits) < NIK_DIGITS:
        return chain
    return _mask_spans(chain, [digits])


def _mask_spans(text: str, windows: Collection[list[int]]) -> str:
    """Stars for the digits at the given positions, each window's last four kept."""
    if not windows:
        return text
    chars = list(text)
    for p in {p for positions in windows for p in positions[:-4]}:
        chars[p] = "*"
    return "".join(chars)


def _digit_windows(text: str) -> Iterator[list[int]]:
    """The positions of every 16 consecutive digits of every loose chain."""
    for chain in _LOOSE.finditer(text):
        digits = [chain.start() + i for i, c in enumerate(chain.group()) if "0" <= c <= "9"]
        for start in range(len(digits) - NIK_DIGITS + 1):
            yield digits[start:start + NIK_DIGITS]


def _collect(doc: Any, out: list[str]) -> None:
    if isinstance(doc, str):
        out.append(doc)
    elif isinstance(doc, dict):
        for key, value in doc.items():
            out.append(key)
            _collect(value, out)
    elif isinstance(doc, list):
        for value in doc:
            _collect(value, out)


def _rebuild(doc: Any, masked: dict[str, str]) -> Any:
    if isinstance(doc, str):
        return masked.get(doc, doc)
    if isinstance(doc, dict):
        return {masked.get(k, k): _rebuild(v, masked) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_rebuild(v, masked) for v in doc]
    if isinstance(doc, bool) or not isinstance(doc, int | float):
        return doc
    if abs(doc) >= 10 ** (NIK_DIGITS - 1):  # a 16-digit number (or a float of one) as a number
        digits = str(int(doc))
        return "*" * (len(digits) - 4) + digits[-4:]
    return doc


def known_niks(store: Any, macs: Collection[str]) -> set[str]:
    """Which of these HMACs are a stored worker's NIK (chunked IN lookups on the indexed column)."""
    from sqlalchemy import select

    from sepadan.store.schema import workers

    macs, found = list(macs), set()
    with store.engine.connect() as conn:
        for start in range(0, len(macs), 500):
            chunk = workers.c.nik_hmac.in_(macs[start:start + 500])
            found.update(conn.execute(select(workers.c.nik_hmac).where(chunk)).scalars())
    return found
