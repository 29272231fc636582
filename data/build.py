"""Build the compact taxonomy files under data/ from the public ESCO and KBJI copies.

Usage::

    python data/build.py [--shared PATH] [--out PATH]

Reads ESCO v1.1.1 (English) and KBJI 2014 from ``--shared`` (default: ``../shared/data`` next
to the repository) and writes sorted, gzip-compressed TSV files (gzip header mtime 0, no file
name) so that a rebuild from the same sources is byte-identical.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

log = logging.getLogger("sepadan.data.build")

ESCO_DIR = "esco-v1.1.1"
KBJI_CSV = "kbji-2014/kbji2014.csv"
ALT_SEP = "|"
SKILL_PILLAR = "KnowledgeSkillCompetence"

Row = tuple[str, ...]


def default_shared() -> Path:
    """``<repo>/../shared/data``, resolved from this file's location."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def clean(text: str) -> str:
    """Collapse whitespace (tabs and newlines included) so a field is safe in one TSV cell."""
    return " ".join(text.split())


def alt_labels(raw: str, preferred: str) -> str:
    """ESCO's newline-separated alternative labels, deduplicated, sorted, without the preferred."""
    labels = {clean(x) for x in raw.split("\n")} - {"", preferred}
    return ALT_SEP.join(sorted(x.replace(ALT_SEP, "/") for x in labels))


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def write_tsv(path: Path, header: Sequence[str], rows: Iterable[Row]) -> int:
    """Write sorted, de-duplicated rows as deterministic gzip TSV; return the row count."""
    body = sorted(set(rows))
    lines = ["\t".join(header)] + ["\t".join(clean(f) for f in row) for row in body]
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
        io.TextIOWrapper(gz, encoding="utf-8", newline="\n") as text,
    ):
        text.write("\n".join(lines) + "\n")
    log.info("wrote %s: %d rows, %d bytes", path, len(body), path.stat().st_size)
    return len(body)


def skill_rows(esco: Path) -> Iterator[Row]:
    for r in read_csv(esco / "classification-en" / "skills_en.csv"):
        if r["status"] != "released":
            continue
        label = clean(r["preferredLabel"])
        alts = alt_labels(r["altLabels"], label)
        yield (r["conceptUri"], label, alts, r["skillType"], r["reuseLevel"])


def broader_rows(esco: Path) -> Iterator[Row]:
    for r in read_csv(esco / "relations" / "broaderRelationsSkillPillar.csv"):
        if r["conceptType"] == SKILL_PILLAR:
            yield (r["conceptUri"], r["broaderUri"])


def group_rows(esco: Path) -> Iterator[Row]:
    for r in read_csv(esco / "classification-en" / "skillGroups_en.csv"):
        if r["status"] == "released":
            yield (r["conceptUri"], clean(r["preferredLabel"]))


def occupation_rows(esco: Path) -> Iterator[Row]:
    for r in read_csv(esco / "classification-en" / "occupations_en.csv"):
        if r["status"] != "released":
            continue
        label = clean(r["preferredLabel"])
        alts = alt_labels(r["altLabels"], label)
        yield (r["conceptUri"], label, alts, r["iscoGroup"], r["code"])


def occupation_skill_rows(esco: Path) -> Iterator[Row]:
    for r in read_csv(esco / "relations" / "occupationSkillRelations.csv"):
        yield (r["occupationUri"], r["relationType"], r["skillUri"])


def isco_rows(esco: Path) -> Iterator[Row]:
    for r in read_csv(esco / "classification-en" / "ISCOGroups_en.csv"):
        if r["status"] == "released":
            yield (r["code"], clean(r["preferredLabel"]))


def kbji_rows(shared: Path) -> Iterator[Row]:
    """KBJI 2014 unit groups (4 digits) and job titles (6 digits); descriptions dropped."""
    for r in read_csv(shared / KBJI_CSV):
        if r["digit"] in ("4", "6"):
            code = r["kode"].strip()
            yield (code, r["digit"], clean(r["judul"]), code[:4])


def build(shared: Path, out: Path) -> dict[str, int]:
    """Write every file; return ``{relative path: row count}``."""
    esco = shared / ESCO_DIR
    jobs = [
        ("esco/skills.tsv.gz", ("uri", "label", "alt_labels", "kind", "reuse"), skill_rows(esco)),
        ("esco/skill_broader.tsv.gz", ("uri", "broader_uri"), broader_rows(esco)),
        ("esco/skill_groups.tsv.gz", ("uri", "label"), group_rows(esco)),
        (
            "esco/occupations.tsv.gz",
            ("uri", "label", "alt_labels", "isco", "code"),
            occupation_rows(esco),
        ),
        (
            "esco/occupation_skills.tsv.gz",
            ("occupation_uri", "relation", "skill_uri"),
            occupation_skill_rows(esco),
        ),
        ("esco/isco_groups.tsv.gz", ("code", "label"), isco_rows(esco)),
        ("kbji/kbji2014.tsv.gz", ("code", "level_digits", "title", "isco"), kbji_rows(shared)),
    ]
    counts = {}
    for name, header, rows in jobs:
        log.info("building %s", name)
        counts[name] = write_tsv(out / name, header, rows)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=default_shared(), help="reference data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if not (args.shared / ESCO_DIR).is_dir():
        log.error("no ESCO copy under %s; pass --shared", args.shared)
        return 2
    counts = build(args.shared, args.out)
    for name, n in counts.items():
        log.info("%-32s %7d rows", name, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
