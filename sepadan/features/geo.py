"""Countries (ISO 3166-1 alpha-2) and Indonesian regions (Ministry of Home Affairs codes)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from sepadan.features.text import normalise_text

# Indonesian and everyday names on top of ISO 3166-1 (pycountry): what officers and workers write.
COUNTRY_NAMES = {
    "ID": ("indonesia", "domestik", "dalam negeri", "domestic"),
    "JP": ("japan", "jepang"), "KR": ("korea", "south korea", "korea selatan", "republic of korea"),
    "TW": ("taiwan",), "HK": ("hong kong", "hongkong"), "MY": ("malaysia",),
    "SG": ("singapore", "singapura"), "SA": ("saudi arabia", "arab saudi"),
    "AE": ("uae", "united arab emirates", "uni emirat arab"), "QA": ("qatar",),
    "KW": ("kuwait",), "BN": ("brunei", "brunei darussalam"), "DE": ("germany", "jerman"),
    "NL": ("netherlands", "belanda"), "AU": ("australia",), "PL": ("poland", "polandia"),
    "TR": ("turkey", "turki", "turkiye"), "OM": ("oman",), "BH": ("bahrain",), "IT": ("italy", "italia"),
    "VN": ("vietnam", "viet nam"), "PH": ("filipina",), "TH": ("thailand",), "CN": ("china", "tiongkok", "cina"),
    "MO": ("macau", "makau"), "NZ": ("selandia baru",), "GB": ("uk", "inggris", "britania raya"),
    "US": ("usa", "amerika serikat", "amerika"), "FR": ("perancis", "prancis"), "ES": ("spanyol",),
    "JO": ("yordania",), "EG": ("mesir",), "TL": ("timor leste", "east timor"), "KH": ("kamboja",),
    "RU": ("russia", "rusia"),
}
_BY_NAME = {name: code for code, names in COUNTRY_NAMES.items() for name in names}
_REGION = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")


@lru_cache(maxsize=1)
def _iso() -> tuple[frozenset[str], dict[str, str]]:
    """The ISO 3166-1 alpha-2 codes, and every name pycountry knows (plain, common, official,
    folded to lower case without accents) -> code."""
    import pycountry

    codes, names = set(), {}
    for c in pycountry.countries:
        codes.add(c.alpha_2)
        for name in (c.name, getattr(c, "common_name", None), getattr(c, "official_name", None)):
            if name:
                names[_fold(name)] = c.alpha_2
    return frozenset(codes), names


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return normalise_text(plain.replace(",", " "))


def country_code(value: str) -> str:
    """'JP', 'jp', 'Jepang', 'Viet Nam', 'Philippines' -> ISO 3166-1 alpha-2; ValueError for
    anything else, user-assigned codes (XX, ZZ, AA, QM-QZ, XA-XZ) included."""
    raw = value.strip()
    codes, names = _iso()
    if len(raw) == 2 and raw.isalpha():
        if raw.upper() in codes:
            return raw.upper()
        if raw.casefold() in _BY_NAME:  # 'UK': reserved by ISO for the United Kingdom, whose code is GB
            return _BY_NAME[raw.casefold()]
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code")
    folded = _fold(raw)
    code = _BY_NAME.get(folded) or names.get(folded)
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
