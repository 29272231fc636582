"""Countries (ISO 3166-1 alpha-2) and Indonesian regions (Ministry of Home Affairs codes)."""

from __future__ import annotations

import re

from sepadan.features.text import normalise_text

COUNTRY_NAMES = {
    "ID": ("indonesia", "domestik", "dalam negeri", "domestic"),
    "JP": ("japan", "jepang"), "KR": ("korea", "south korea", "korea selatan", "republic of korea"),
    "TW": ("taiwan",), "HK": ("hong kong", "hongkong"), "MY": ("malaysia",),
    "SG": ("singapore", "singapura"), "SA": ("saudi arabia", "arab saudi"),
    "AE": ("uae", "united arab emirates", "uni emirat arab"), "QA": ("qatar",),
    "KW": ("kuwait",), "BN": ("brunei", "brunei darussalam"), "DE": ("germany", "jerman"),
    "NL": ("netherlands", "belanda"), "AU": ("australia",), "PL": ("poland", "polandia"),
    "TR": ("turkey", "turki"), "OM": ("oman",), "BH": ("bahrain",), "IT": ("italy", "italia"),
}
_BY_NAME = {name: code for code, names in COUNTRY_NAMES.items() for name in names}
_REGION = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


def country_code(value: str) -> str:
    """'JP', 'jp', 'Jepang' -> 'JP'; ValueError for anything else."""
    raw = value.strip()
    if len(raw) == 2 and raw.isalpha():
        return raw.upper()
    code = _BY_NAME.get(normalise_text(raw))
    if code is None:
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code or a known country name")
    return code


def region_code(value: str) -> str:
    """'35.08', '3508', '350801' -> dotted Kemendagri code; ValueError otherwise."""
    raw = value.strip()
    if raw.isdigit() and len(raw) in (2, 4, 6, 10):
        raw = ".".join(filter(None, (raw[:2], raw[2:4], raw[4:6], raw[6:])))
    if not _REGION.match(raw):
        raise ValueError(f"'{value}' is not a Kemendagri region code like '35' or '35.08'")
    return raw


def in_region(region: str | None, scope: str) -> bool:
    """Whether a region code lies inside a scope ('35' contains '35.08')."""
    return region is not None and (region == scope or region.startswith(scope + "."))
