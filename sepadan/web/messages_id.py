"""The importer's messages in Indonesian, for the import page: a table of the message patterns the
importer produces (sepadan/contract.py, sepadan/features/ geo, languages and education,
sepadan/ingest/ readers and importer, pydantic's own messages for the contract's types), each with
its Indonesian wording. Quoted values, numbers and field names are carried over as they are; a
pattern's ``d_`` groups are details (pydantic's date reasons, JSON and CSV parser reasons) looked up
in a second table.

A message that matches no pattern (or whose detail has no translation) stays in English: it is
counted in :data:`UNTRANSLATED` and logged at INFO, without any value (its quoted parts and digits
masked), so that the table can be completed. Messages reach here already redacted
(:func:`sepadan.web.imports.redact`): a submitted value is ``'…'``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable

log = logging.getLogger(__name__)
V = r"'(?P<v>.*)'"  # a quoted value (redacted or not); anchored: an apostrophe inside is kept
FILE = r"(?P<file>[^:']+)"
N = r"(?P<n>[\d,.]+)"

# (English message, as a full-match regular expression; Indonesian, str.format over its groups)
PATTERNS: tuple[tuple[str, str], ...] = (
    # sepadan/ingest/importer.py
    (r"is required", "wajib diisi"),
    (r"duplicate of row (?P<row>\d+)", "duplikat baris {row} (ID yang sama)"),
    (V + r" is not in the store", "{q} belum ada di data (impor dulu datanya)"),
    (r"the file is empty", "berkasnya kosong"),
    (r"no data rows \(only a header, or blank lines\)",
     "tidak ada baris data (hanya judul kolom, atau baris kosong)"),
    # sepadan/contract.py
    (V + r" is not a gender code \(F or M\)", "{q} bukan kode jenis kelamin (F atau M)"),
    (V + r" is not on the education ladder \((?P<ladder>[^)]*)\)",
     "{q} tidak ada di jenjang pendidikan ({ladder})"),
    (V + r" is not an ISO 639-1 language code this engine knows",
     "{q} bukan kode bahasa ISO 639-1 yang dikenal"),
    (r"the NIK must be text \(in Excel: a cell formatted as Text\); a number loses digits",
     "NIK harus berupa teks (di Excel: sel berformat Teks); angka kehilangan digit"),
    (r"the NIK must be exactly 16 digits", "NIK harus tepat 16 digit"),
    (r"is in the future \(after (?P<day>[\d-]+), the day of the import\)",
     "ada di masa depan (setelah {day}, tanggal impor)"),
    (r"is before 1900", "sebelum tahun 1900"),
    (r"gives an age under (?P<n>\d+) on (?P<day>[\d-]+): a migrant worker placed abroad must be "
     r"at least (?P<m>\d+) \(UU 18/2017\)",
     "berarti usia di bawah {n} tahun pada {day}: pekerja migran yang ditempatkan di luar negeri "
     "paling sedikit berusia {m} tahun (UU 18/2017)"),
    (r"gives an age under (?P<n>\d+) on (?P<day>[\d-]+), the minimum working age \(UU 13/2003\)",
     "berarti usia di bawah {n} tahun pada {day}, usia minimum untuk bekerja (UU 13/2003)"),
    (r"age_min (?P<a>\S+) is above age_max (?P<b>\S+)", "age_min {a} lebih besar dari age_max {b}"),
    # sepadan/features/geo.py, languages.py
    (V + r" is not an ISO 3166-1 alpha-2 country code", "{q} bukan kode negara ISO 3166-1 alpha-2"),
    (V + r" is not an ISO 3166-1 alpha-2 country code or a known country name",
     "{q} bukan kode negara ISO 3166-1 alpha-2 atau nama negara yang dikenal"),
    (V + r" is not a Kemendagri region code like '(?P<a>[^']*)' or '(?P<b>[^']*)'",
     "{q} bukan kode wilayah Kemendagri seperti '{a}' atau '{b}'"),
    (r"unknown language test '(?P<v>.*)' \(known: (?P<known>[^)]*)\)",
     "tes bahasa {q} tidak dikenal (yang dikenal: {known})"),
    (V + r" is not a (?P<test>\S+) level", "{q} bukan tingkat {test}"),
    # sepadan/ingest/readers.py (rows)
    (r"longer than " + N + " bytes", "lebih panjang dari {n} byte"),
    (r"not UTF-8 text \(byte (?P<b>0x[0-9A-F]{2}) at position (?P<p>\d+)\); save the file as UTF-8 "
     r"\('CSV UTF-8' in Excel\)",
     "bukan teks UTF-8 (byte {b} di posisi {p}); simpan berkas sebagai UTF-8 "
     "('CSV UTF-8' di Excel)"),
    (r"not valid JSON: (?P<d_json>.*)", "bukan JSON yang sah: {d_json}"),
    (r"each line must be a JSON object", "setiap baris harus berupa objek JSON"),
    (r"not valid CSV: (?P<d_csv>.*)", "bukan CSV yang sah: {d_csv}"),
    (r"(?P<n>\d+) cells but (?P<m>\d+) columns", "{n} sel, padahal hanya ada {m} kolom"),
    (V + r" is not a language entry like 'ja:JLPT:N4'",
     "{q} bukan isian bahasa seperti 'ja:JLPT:N4'"),
    (V + r" is not an entry like '(?P<ex>[^']*)'", "{q} bukan isian seperti '{ex}'"),
    (r"(?P<d_json>[A-Z][^:]*): line (?P<l>\d+) column (?P<c>\d+) \(char (?P<ch>\d+)\)",
     "JSON di sel tidak sah: {d_json} (baris {l} kolom {c})"),
    # sepadan/ingest/readers.py and sepadan/api/routes_records.py (the file as a whole)
    (r"'(?P<v>.*)' is not \.jsonl, \.csv or \.xlsx", "{q} bukan berkas .jsonl, .csv atau .xlsx"),
    (r"'(?P<v>.*)' could not be read as (?P<s>\.\w+) \((?P<exc>\w+)\)",
     "{q} tidak dapat dibaca sebagai {s} ({exc})"),
    (FILE + r": not an Excel \.xlsx workbook \((?P<exc>.*)\)",
     "{file}: bukan buku kerja Excel .xlsx ({exc})"),
    (FILE + r": a damaged Excel workbook \((?P<exc>.*)\)",
     "{file}: buku kerja Excel rusak ({exc})"),
    (FILE + r": not a readable Excel workbook \((?P<exc>\w+)\)",
     "{file}: buku kerja Excel tidak terbaca ({exc})"),
    (FILE + r": " + N + r" parts in the workbook, more than (?P<m>[\d,.]+)",
     "{file}: {n} bagian di buku kerja, lebih dari {m}"),
    (FILE + r": expands to " + N + r" MB, more than the (?P<m>\d+) MB a workbook may hold; "
     r"split it or use CSV",
     "{file}: mengembang menjadi {n} MB, lebih dari {m} MB yang boleh dimuat satu buku kerja; "
     "pecah berkasnya atau pakai CSV"),
    (FILE + r": part '(?P<part>[^']*)' expands " + N + r" times \(more than (?P<m>\d+)\): "
     r"refused as a possible zip bomb",
     "{file}: bagian '{part}' mengembang {n} kali (lebih dari {m}): ditolak karena mungkin "
     "bom zip (zip bomb)"),
    (FILE + r": expands past (?P<m>\d+) MB; split it or use CSV",
     "{file}: mengembang lebih dari {m} MB; pecah berkasnya atau pakai CSV"),
    # pydantic's messages for the contract's types
    (r"String should have at least (?P<n>\d+) characters?", "teks paling sedikit {n} karakter"),
    (r"String should have at most (?P<n>\d+) characters?", "teks paling banyak {n} karakter"),
    (r"String should match pattern '(?P<p>.*)'",
     "teks tidak sesuai pola '{p}' (huruf, angka, titik, garis)"),
    (r"Input should be a valid string", "harus berupa teks"),
    (r"Input should be a valid number, unable to parse string as a number",
     "harus berupa angka; isian ini tidak terbaca sebagai angka"),
    (r"Input should be a valid number", "harus berupa angka"),
    (r"Input should be a finite number", "harus berupa angka yang terhingga"),
    (r"Input should be a valid integer, unable to parse string as an integer",
     "harus berupa bilangan bulat; isian ini tidak terbaca sebagai bilangan bulat"),
    (r"Input should be a valid integer, got a number with a fractional part",
     "harus berupa bilangan bulat, bukan pecahan"),
    (r"Input should be a valid integer", "harus berupa bilangan bulat"),
    (r"Input should be greater than or equal to " + N,
     "harus lebih besar dari atau sama dengan {n}"),
    (r"Input should be less than or equal to " + N, "harus lebih kecil dari atau sama dengan {n}"),
    (r"Input should be greater than " + N, "harus lebih besar dari {n}"),
    (r"Input should be less than " + N, "harus lebih kecil dari {n}"),
    (r"Input should be a valid boolean, unable to interpret input",
     "harus berupa ya/tidak (true/false, yes/no, 1/0); isian ini tidak terbaca"),
    (r"Input should be a valid boolean", "harus berupa ya/tidak (true/false, yes/no, 1/0)"),
    (r"Input should be a valid date in the format YYYY-MM-DD, (?P<d_date>.*)",
     "harus berupa tanggal berformat YYYY-MM-DD: {d_date}"),
    (r"Input should be a valid date or datetime, (?P<d_date>.*)",
     "harus berupa tanggal (YYYY-MM-DD): {d_date}"),
    (r"Input should be a valid date", "harus berupa tanggal (YYYY-MM-DD)"),
    (r"Datetimes provided to dates should have zero time - e\.g\. be exact dates",
     "harus berupa tanggal saja (YYYY-MM-DD), tanpa jam"),
    (r"Input should be (?P<opts>'[^']*'(?:, '[^']*')* or '[^']*')", "harus salah satu dari {opts}"),
    (r"Input should be (?P<opts>'[^']*')", "harus {opts}"),
    (r"Input should be a valid list", "harus berupa daftar (dipisah titik koma di CSV dan Excel)"),
    (r"Input should be a valid dictionary(?: or instance of \w+)?",
     "harus berupa objek (kumpulan kolom)"),
    (r"Input should be a valid dictionary or object to extract fields from",
     "harus berupa objek (kumpulan kolom)"),
    (r"(?:List|Dictionary|Value) should have at most (?P<n>\d+) items? after validation, "
     r"not (?P<m>\d+)",
     "paling banyak {n} butir, bukan {m}"),
    (r"(?:List|Dictionary|Value) should have at most (?P<n>\d+) items? after validation, not more",
     "paling banyak {n} butir, lebih dari itu"),
    (r"(?:List|Dictionary|Value) should have at least (?P<n>\d+) items? after validation, "
     r"not (?P<m>\d+)",
     "paling sedikit {n} butir, bukan {m}"),
)

# details inside a message: (kind, English as a full-match regex) -> Indonesian
DETAILS: dict[str, tuple[tuple[str, str], ...]] = {
    "d_date": (
        (r"input is too short", "isian terlalu pendek"),
        (r"input is too long", "isian terlalu panjang"),
        (r"invalid character in year", "ada karakter tidak sah di tahun"),
        (r"invalid character in month", "ada karakter tidak sah di bulan"),
        (r"invalid character in day", "ada karakter tidak sah di tanggal"),
        (r"invalid date separator, expected `-`", "pemisah tanggal harus `-`"),
        (r"invalid datetime separator, expected `T`, `t`, `_` or space",
         "pemisah tanggal dan jam tidak sah"),
        (r"month value is outside expected range of 1-12", "bulan di luar 1-12"),
        (r"day value is outside expected range", "tanggal di luar rentang bulannya"),
        (r"unexpected extra characters at the end of the input",
         "ada karakter lebih di akhir isian"),
        (r"invalid character in hour", "ada karakter tidak sah di jam"),
        (r"invalid character in minute", "ada karakter tidak sah di menit"),
        (r"invalid character in second", "ada karakter tidak sah di detik"),
        (r"invalid time separator, expected `:`", "pemisah jam harus `:`"),
        (r"invalid timezone sign", "tanda zona waktu tidak sah"),
        (r"dates after 9999 are not supported as unix timestamps",
         "tanggal setelah tahun 9999 tidak didukung"),
    ),
    "d_json": (
        (r"Expecting value", "nilai tidak ditemukan"),
        (r"Expecting property name enclosed in double quotes",
         "nama kolom harus diapit tanda kutip ganda"),
        (r"Expecting '(?P<c>[^']*)' delimiter", "tanda pemisah '{c}' tidak ditemukan"),
        (r"Unterminated string starting at", "teks tidak ditutup tanda kutip"),
        (r"Invalid control character at", "ada karakter kendali tidak sah"),
        (r"Invalid \\escape", "ada escape \\ tidak sah"),
        (r"Invalid \\uXXXX escape", "ada escape \\uXXXX tidak sah"),
        (r"Extra data", "ada data lebih setelah objek JSON"),
        (r"Illegal trailing comma before end of (?:object|array)", "ada koma sebelum penutup"),
    ),
    "d_csv": (
        (r"unexpected end of data", "data berakhir di tengah sel (tanda kutip tidak ditutup?)"),
        (r"field larger than field limit \((?P<n>\d+)\)",
         "sel lebih panjang dari batas {n} karakter"),
        (r"'(?P<c>.)' expected after '\"'", "'{c}' seharusnya ada setelah tanda kutip '\"'"),
        (r"new-line character seen in unquoted field.*",
         "ganti baris di dalam sel tanpa tanda kutip"),
        (r"line contains NUL", "baris berisi karakter NUL"),
    ),
}

_RULES = tuple((re.compile(en), id_) for en, id_ in PATTERNS)
_DETAILS = {kind: tuple((re.compile(en), id_) for en, id_ in rows)
            for kind, rows in DETAILS.items()}
UNTRANSLATED: Counter[str] = Counter()  # message shape (no values) -> times shown in English
_LOCK = threading.Lock()


def to_indonesian(message: str) -> str | None:
    """``message`` in Indonesian; None when the table has no pattern for it (or a detail in it)."""
    for pattern, template in _RULES:
        found = pattern.fullmatch(message)
        if found is None:
            continue
        groups = {k: v for k, v in found.groupdict().items() if v is not None}
        for name in [k for k in groups if k.startswith("d_")]:
            detail = _detail(name, groups[name])
            if detail is None:
                return None
            groups[name] = detail
        if "v" in groups:
            groups["q"] = f"'{groups['v']}'"
        if "opts" in groups:
            groups["opts"] = re.sub(r"' or '", "' atau '", groups["opts"])
        return template.format(**groups)
    return None


def _detail(kind: str, text: str) -> str | None:
    for pattern, template in _DETAILS.get(kind, ()):
        found = pattern.fullmatch(text)
        if found is not None:
            return template.format(**found.groupdict())
    return None


def localise(messages: Iterable[str], lang: str, *, where: str = "import") -> list[str]:
    """Each message in ``lang``: Indonesian by the table for "id" (English where it has none,
    counted and logged once per call without values), unchanged otherwise."""
    messages = list(messages)
    if lang != "id":
        return messages
    out, missing = [], Counter()
    for message in messages:
        translated = to_indonesian(message)
        if translated is None:
            missing[shape(message)] += 1
        out.append(translated if translated is not None else message)
    if missing:
        with _LOCK:
            UNTRANSLATED.update(missing)
        log.info("%s: %d messages shown in English (no Indonesian translation): %s", where,
                 sum(missing.values()), "; ".join(sorted(missing)))
    return out


def shape(message: str) -> str:
    """A message without its values, for a log line: quoted parts and digits masked, 120 chars."""
    text = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"\d+", "#", text)[:120]
