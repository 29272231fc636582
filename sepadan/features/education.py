"""The Indonesian education ladder: SD < SMP < SMA = SMK < D1 < D2 < D3 < D4 < S1 < S2 < S3."""

from __future__ import annotations

from sepadan.features.text import normalise_text

LADDER = {
    "tidak sekolah": 0, "none": 0, "sd": 1, "mi": 1, "paket a": 1,
    "smp": 2, "mts": 2, "paket b": 2, "sma": 3, "smk": 3, "ma": 3, "mak": 3, "paket c": 3,
    "d1": 4, "d2": 5, "d3": 6, "d4": 7, "s1": 8, "s2": 9, "s3": 10,
}
CANONICAL = {
    0: "none", 1: "SD", 2: "SMP", 3: "SMA", 4: "D1", 5: "D2", 6: "D3", 7: "D4", 8: "S1", 9: "S2", 10: "S3",
}


def education_rank(level: str | None) -> int | None:
    """Rank on the ladder; None when unknown or missing (missing is not 'none')."""
    if level is None:
        return None
    key = normalise_text(level).replace(" / ", "/").replace("-", " ")
    key = {"diploma 3": "d3", "diploma iii": "d3", "sarjana": "s1", "bachelor": "s1"}.get(key, key)
    return LADDER.get(key)


def is_known(level: str) -> bool:
    return education_rank(level) is not None
