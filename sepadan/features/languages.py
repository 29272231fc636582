"""Language credentials on one ordinal ladder per language, aligned to the CEFR (A1=1 ... C2=6).

Cross-test equivalences (documented in the README, "Language levels"):

| test       | levels -> ordinal                                                     | basis |
|------------|-----------------------------------------------------------------------|-------|
| CEFR       | A1 1, A2 2, B1 3, B2 4, C1 5, C2 6                                    | Council of Europe |
| JLPT       | N5 1, N4 2, N3 3, N2 4, N1 5                                          | Japan's SSW rules treat JFT-Basic A2 as equal to N4 |
| JFT-Basic  | A1 1, A2 2 ("pass" = A2)                                              | Japan Foundation, CEFR-referenced |
| EPS-TOPIK  | "pass" 2; a score of 80+ out of 200 counts as 2, 140+ as 3            | pass marks vary per round: a planning approximation; a score requirement compares scores, "pass" counting as 80 |
| TOPIK      | level 1..6 -> 1..6                                                    | NIIED levels |
| HSK        | 1..6 -> 1..6 (HSK 3.0 levels 7-9 -> 6)                                 | approximate, as commonly cited |
| TOCFL      | A1..C2 or level 1..6 -> 1..6                                          | TOCFL is CEFR-referenced |
| IELTS      | band 3 2, 4 3, 5.5 4, 7 5, 8.5 6                                       | IELTS-CEFR table |
| TOEIC      | 120 1, 225 2, 550 3, 785 4, 945 5 (listening + reading)               | ETS mapping |
| self       | basic/dasar 1, elementary 2, intermediate/menengah 3, advanced/fluent/lancar 5, native 6 | self-declared |

A requirement names a test; any standardised test of the same language meets it at the same or a
higher ordinal, except tests in ``STRICT_TESTS`` (Korea's EPS accepts only EPS-TOPIK). A
self-declared level meets only a requirement that is itself self-declared ("self").
"""

from __future__ import annotations

import re

from sepadan.records import LanguageCred, LanguageReq

CEFR = {"A1": 1, "A2": 2, "B1": 3, "B2": 4, "C1": 5, "C2": 6}
JLPT = {"N5": 1, "N4": 2, "N3": 3, "N2": 4, "N1": 5}
SELF = {
    "basic": 1, "dasar": 1, "beginner": 1, "pemula": 1, "elementary": 2,
    "intermediate": 3, "menengah": 3, "cukup": 3, "advanced": 5, "mahir": 5,
    "fluent": 5, "lancar": 5, "native": 6, "bahasa ibu": 6,
}
STRICT_TESTS = frozenset({"EPS-TOPIK"})
SELF_TEST = "self"
EPS_PASS_SCORE = 80
LANGUAGES = frozenset({"ja", "ko", "zh", "yue", "en", "ar", "ms", "id", "de", "nl", "it", "fr", "es", "tl", "th", "vi"})

_TESTS = {
    "CEFR": "CEFR", "JLPT": "JLPT", "JFT": "JFT-Basic", "JFT-BASIC": "JFT-Basic",
    "EPS-TOPIK": "EPS-TOPIK", "EPS": "EPS-TOPIK", "TOPIK": "TOPIK", "HSK": "HSK",
    "TOCFL": "TOCFL", "IELTS": "IELTS", "TOEIC": "TOEIC", "SELF": SELF_TEST,
    "SELF-DECLARED": SELF_TEST, "NONE": SELF_TEST,
}


def canonical_test(test: str | None) -> str:
    """'jlpt' -> 'JLPT', 'eps' -> 'EPS-TOPIK', '' -> 'self'; unknown tests raise ValueError."""
    key = (test or "self").strip().upper().replace("_", "-").replace(" ", "-")
    if key not in _TESTS:
        raise ValueError(f"unknown language test '{test}' (known: {', '.join(sorted(set(_TESTS.values())))})")
    return _TESTS[key]


def ordinal(test: str, level: str) -> int:
    """The CEFR-aligned ordinal (1..6) of a level on a test; ValueError if the level is not on it."""
    test = canonical_test(test)
    raw = str(level).strip()
    value = _ORDINAL[test](raw.upper() if test != SELF_TEST else raw.casefold())
    if value is None:
        raise ValueError(f"'{level}' is not a {test} level")
    return value


def meets(creds: tuple[LanguageCred, ...], req: LanguageReq) -> tuple[bool, LanguageCred | None, int]:
    """Whether any credential meets a requirement: (met, best credential, margin in ordinal steps)."""
    need = ordinal(req.test, req.min_level)
    best: tuple[int, LanguageCred] | None = None
    for cred in creds:
        if not _accepts(req, cred):
            continue
        have = _score_or_ordinal(req, cred)
        if best is None or have > best[0]:
            best = (have, cred)
    if best is None:
        return False, None, -need
    need_cmp = _need_value(req, need)
    return best[0] >= need_cmp, best[1], _margin(req, best[0], need_cmp)


def best_ordinal(creds: tuple[LanguageCred, ...], language: str) -> int:
    """The highest ordinal a worker holds in a language, any test; 0 when none."""
    levels = [_safe_ordinal(c) for c in creds if c.language == language]
    return max(levels, default=0)


def _accepts(req: LanguageReq, cred: LanguageCred) -> bool:
    if cred.language != req.language:
        return False
    req_test, cred_test = canonical_test(req.test), canonical_test(cred.test)
    if req_test in STRICT_TESTS:
        return cred_test == req_test
    return req_test == SELF_TEST or cred_test != SELF_TEST


def _score_or_ordinal(req: LanguageReq, cred: LanguageCred) -> int:
    if _is_eps_score(req.test, req.min_level):
        return eps_score(cred.level)
    return _safe_ordinal(cred)


def eps_score(level: str) -> int:
    """An EPS-TOPIK credential as a score: the score itself, or the pass mark for "pass"."""
    raw = str(level).strip()
    if raw.isdigit():
        return int(raw)
    return EPS_PASS_SCORE if raw.upper() in {"PASS", "LULUS"} else 0


def _need_value(req: LanguageReq, need: int) -> int:
    return int(req.min_level) if _is_eps_score(req.test, req.min_level) else need


def _margin(req: LanguageReq, have: int, need: int) -> int:
    if _is_eps_score(req.test, req.min_level):
        return 0 if have < need else 1 + (have - need) // 30
    return have - need


def _is_eps_score(test: str, level: str) -> bool:
    return canonical_test(test) == "EPS-TOPIK" and str(level).strip().isdigit()


def _safe_ordinal(cred: LanguageCred) -> int:
    try:
        return ordinal(cred.test, cred.level)
    except ValueError:
        return 0


def _number(raw: str) -> float | None:
    match = re.fullmatch(r"(?:LEVEL|BAND|TINGKAT)?\s*(\d+(?:\.\d+)?)", raw.upper())
    return float(match.group(1)) if match else None


def _eps(raw: str) -> int | None:
    if raw in {"PASS", "LULUS"}:
        return 2
    score = _number(raw)
    if score is None or not 0 <= score <= 200:
        return None
    return 3 if score >= 140 else 2 if score >= EPS_PASS_SCORE else 1


def _steps(raw: str, *, top: int, cap: int = 6) -> int | None:
    if raw in CEFR:
        return CEFR[raw]
    number = _number(raw)
    if number is None or number != int(number) or not 1 <= number <= top:
        return None
    return min(int(number), cap)


def _threshold(raw: str, table: tuple[tuple[float, int], ...], *, top: float) -> int | None:
    number = _number(raw)
    if number is None or not 0 <= number <= top:
        return None
    return max((level for floor, level in table if number >= floor), default=0) or None


_ORDINAL = {
    "CEFR": CEFR.get,
    "JLPT": JLPT.get,
    "JFT-Basic": lambda raw: {"A1": 1, "A2": 2, "PASS": 2}.get(raw),
    "EPS-TOPIK": _eps,
    "TOPIK": lambda raw: _steps(raw, top=6),
    "HSK": lambda raw: _steps(raw, top=9),
    "TOCFL": lambda raw: _steps(raw, top=6),
    "IELTS": lambda raw: _threshold(raw, ((3.0, 2), (4.0, 3), (5.5, 4), (7.0, 5), (8.5, 6)), top=9),
    "TOEIC": lambda raw: _threshold(raw, ((120, 1), (225, 2), (550, 3), (785, 4), (945, 5)), top=990),
    SELF_TEST: lambda raw: SELF.get(raw) or CEFR.get(raw.upper()),
}


def describe(test: str, level: str) -> str:
    """Human form of a credential, e.g. 'JLPT N4'."""
    test = canonical_test(test)
    return f"{level} (self-declared)" if test == SELF_TEST else f"{test} {level}"
