"""Which ESCO skills and occupations get an Indonesian label, and in what order.

    python data/labels/select.py [--skills 3200] [--out selection.tsv]

Writes the selection as TSV (``uri, kind, label, why, count``) for translating in batches; the
translated rows live in ``esco_id.tsv`` beside this file (see data/README.md). It reads only the
shipped reference data (``data/esco``, ``data/lexicon``, ``data/demo``), so the selection is the
same on any machine:

1. every skill the lexicon maps a phrase to (``why`` = ``lexicon``);
2. every skill a phrase in the demo data reaches through the lexicon or an ESCO label (``demo``);
3. the essential skills of the ESCO occupations in the ISCO-08 unit groups of the sectors the
   seeds name (``SECTOR_GROUPS``), most frequent first (``count`` = how many of those occupations
   need it), until ``--skills`` skills are selected (``sector``);
4. every ESCO occupation in those unit groups (``kind`` = ``occupation``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sepadan.features.lexicon import load_lexicon  # noqa: E402
from sepadan.features.skills import SkillNormaliser  # noqa: E402
from sepadan.features.taxonomy import Taxonomy, load_taxonomy  # noqa: E402
from sepadan.features.text import split_phrases  # noqa: E402

SECTOR_GROUPS: dict[str, tuple[str, ...]] = {
    "care": ("5321", "5322", "5311", "5329", "3221", "3256"),
    "domestic work": ("9111", "5152", "9121", "9112", "5162"),
    "manufacturing": ("8121", "8131", "8141", "8142", "8143", "8151", "8152", "8153", "8154",
                      "8155", "8156", "8157", "8159", "8160", "8172", "8181", "8183", "8189",
                      "8211", "8212", "8219", "9321", "9329", "7531", "7532", "7533", "7534",
                      "7535", "7536", "7512", "7513", "7514", "7515", "7516", "7223", "7224",
                      "7233", "7411", "7412", "7421", "7422"),
    "construction": ("7111", "7112", "7113", "7114", "7115", "7119", "7121", "7122", "7123",
                     "7124", "7125", "7126", "7127", "7131", "7132", "9312", "9313", "8342",
                     "8343"),
    "hospitality": ("5120", "5131", "5132", "9411", "9412", "4224", "5151", "3434", "5246",
                    "5141", "5142", "3255"),
    "plantation and agriculture": ("6111", "6112", "6113", "6114", "6121", "6122", "6130",
                                   "6210", "9211", "9212", "9213", "9214", "9215", "8341"),
    "fishery": ("6221", "6222", "6223", "9216", "8350", "3152"),
    "welding and metal": ("7212", "7213", "7214", "7221", "7222"),
    "driving": ("8321", "8322", "8331", "8332", "8344", "9333"),
}
DEMO_FIELDS = {"workers": ("skills",), "vacancies": ("skills_required", "skills_preferred"),
               "trainings": ("skills",)}


def demo_phrases(folder: Path) -> set[str]:
    """Every skill phrase written in the demo records (their trainings' skills included)."""
    found: set[str] = set()
    for kind, fields in DEMO_FIELDS.items():
        for line in (folder / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts = [s for f in fields for s in row.get(f) or []]
            texts += [s for t in row.get("trainings") or [] for s in t.get("skills") or []]
            found.update(p for s in texts for p in split_phrases(s))
    return found


def sector_occupations(taxonomy: Taxonomy) -> list[str]:
    groups = {g for gs in SECTOR_GROUPS.values() for g in gs}
    return sorted(u for u, o in taxonomy.occupations.items() if o.isco in groups)


def select(taxonomy: Taxonomy, data_dir: Path, n_skills: int) -> list[tuple[str, str, str, str, int]]:
    lexicon = load_lexicon(taxonomy, data_dir, with_labels=False)
    chosen: dict[str, tuple[str, int]] = {}
    for phrase in lexicon.phrases:
        for uri in lexicon.skills_for(phrase):
            chosen.setdefault(uri, ("lexicon", 0))
    normaliser = SkillNormaliser(taxonomy, lexicon, None)
    for concepts in normaliser.normalise_many(demo_phrases(data_dir / "demo")).values():
        for c in concepts:
            if c.uri and c.uri in taxonomy.skills:
                chosen.setdefault(c.uri, ("demo", 0))
    occupations = sector_occupations(taxonomy)
    counts = Counter(s for u in occupations for s in taxonomy.occupations[u].essential)
    for uri, count in sorted(counts.items(), key=lambda kv: (-kv[1], taxonomy.skills[kv[0]].label)):
        if len(chosen) >= n_skills:
            break
        chosen.setdefault(uri, ("sector", count))
    rows = [(u, "skill", taxonomy.skills[u].label, why, counts.get(u, n)) for u, (why, n) in chosen.items()]
    rows += [(u, "occupation", taxonomy.occupations[u].label, taxonomy.occupations[u].isco, 0)
             for u in occupations]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=3200, help="how many skills to select")
    parser.add_argument("--out", type=Path, default=None, help="TSV file (default: stdout)")
    args = parser.parse_args(argv)
    data_dir = ROOT / "data"
    rows = select(load_taxonomy(data_dir), data_dir, args.skills)
    text = "uri\tkind\tlabel\twhy\tcount\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
