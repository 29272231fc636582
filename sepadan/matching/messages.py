"""Reasons and gaps in Indonesian and English: one template per message key.

A parameter that carries an ESCO label (``skill``, ``need``) may carry its URI beside it
(``skill_uri``, ``need_uri``); Indonesian text then shows the concept's Indonesian label
(:mod:`sepadan.features.labels`), or the English one, counted, where none exists yet.
"""

from __future__ import annotations

from typing import Any

from sepadan.features.labels import Labels, shipped_labels
from sepadan.features.text import normalise_text

LANGS = ("id", "en")
DOCS = {
    "passport": ("paspor", "passport"), "medical": ("surat keterangan sehat (medical)", "medical certificate"),
    "police_clearance": ("SKCK", "police clearance (SKCK)"), "bpjs": ("BPJS Ketenagakerjaan", "BPJS social security"),
    "family_consent": ("izin keluarga", "family consent"),
}
TEMPLATES: dict[str, tuple[str, str]] = {
    "vacancy_closed": ("lowongan sudah ditutup", "the vacancy is closed"),
    "agency_active": ("agensi {licence} berizin aktif", "agency {licence} holds an active licence"),
    "agency_not_required": ("lowongan dalam negeri, tanpa P3MI", "domestic job, no placement agency needed"),
    "agency_unknown": ("agensi {licence} tidak terdaftar: risiko non-prosedural",
                       "agency {licence} is not in the licence register: non-procedural risk"),
    "agency_suspended": ("izin agensi {licence} dibekukan: risiko non-prosedural",
                         "agency {licence} is suspended: non-procedural risk"),
    "agency_revoked": ("izin agensi {licence} dicabut: risiko non-prosedural",
                       "agency {licence} has had its licence revoked: non-procedural risk"),
    "agency_expired": ("izin agensi {licence} sudah habis: risiko non-prosedural",
                       "agency {licence} licence has expired: non-procedural risk"),
    "not_available": ("pekerja sedang tidak tersedia", "the worker is not available"),
    "language_met": ("{have} memenuhi syarat {need}", "{have} meets the {need} required"),
    "language_unmet": ("butuh {need}; yang dimiliki: {have}", "needs {need}; has {have}"),
    "age_ok": ("usia {age} sesuai", "age {age} is within range"),
    "age_out": ("usia {age} di luar batas {min}-{max}", "age {age} is outside {min}-{max}"),
    "age_unknown": ("tanggal lahir belum diisi", "birth date unknown"),
    "education_ok": ("pendidikan {have} memenuhi minimal {need}", "education {have} meets the minimum {need}"),
    "education_low": ("pendidikan {have} di bawah minimal {need}", "education {have} is below the minimum {need}"),
    "education_unknown": ("pendidikan belum diisi (minimal {need})", "education unknown (minimum {need})"),
    "gender_ok": ("jenis kelamin sesuai job order", "gender as stated in the job order"),
    "gender_other": ("job order meminta jenis kelamin {need}", "the job order asks for gender {need}"),
    "certificate_ok": ("memiliki sertifikat {name}", "holds the certificate {name}"),
    "certificate_missing": ("belum memiliki sertifikat {name}", "lacks the certificate {name}"),
    "experience_ok": ("pengalaman relevan {years} tahun (minimal {need})", "{years} years of relevant experience (minimum {need})"),
    "experience_short": ("pengalaman relevan {years} tahun, kurang dari {need}", "{years} years of relevant experience, fewer than {need}"),
    "document_missing": ("dokumen belum ada: {doc}", "document missing: {doc}"),
    "document_late": ("dokumen {doc} tidak akan siap sebelum batas waktu (butuh {days} hari)",
                      "{doc} cannot be ready before the deadline (takes {days} days)"),
    "preference_country": ("pekerja tidak memilih negara {country}", "the worker did not choose {country}"),
    "preference_domestic": ("pekerja tidak mencari kerja dalam negeri", "the worker is not looking for domestic work"),
    "skill_exact": ("bisa {skill} (dari '{phrase}')", "has {skill} (from '{phrase}')"),
    "skill_exact_as_written": ("bisa {skill}", "has {skill}"),
    "knowledge_exact": ("memahami {skill} (dari '{phrase}')", "has {skill} (from '{phrase}')"),
    "knowledge_exact_as_written": ("memahami {skill}", "has {skill}"),
    "skill_related": ("{skill} dekat dengan yang diminta: {need}", "{skill} is close to the required {need}"),
    "skill_missing": ("{skill}", "{skill}"),
    "preferred_missing": ("{skill} (diutamakan)", "{skill} (preferred)"),
    "experience_related": ("pengalaman {years} tahun sebagai {job}", "{years} years as {job}"),
    "training_relevant": ("pelatihan {title} ({hours} jam) relevan", "training {title} ({hours} h) is relevant"),
    "semantic": ("profil mirip dengan lowongan ({score})", "profile resembles the vacancy ({score})"),
    "preference_match": ("sesuai pilihan negara/sektor pekerja", "matches the worker's chosen country or sector"),
}


LABEL_PARAMS = (("skill", "skill_uri"), ("need", "need_uri"))


def render(key: str, params: dict[str, Any], lang: str = "id", *, labels: Labels | None = None) -> str:
    """One message in ``lang``; ESCO labels in Indonesian where ``labels`` (default: the shipped
    ones) has them."""
    if lang == "id" and any(uri in params for _, uri in LABEL_PARAMS):
        table = labels or shipped_labels()
        if key == "skill_exact":
            key = _exact_key(params, table)
        params = _indonesian(params, table)
    template = TEMPLATES[key][0 if lang == "id" else 1]
    values = {k: ("-" if v is None else v) for k, v in params.items()}
    if "document" in values:
        values["doc"] = DOCS.get(values["document"], (values["document"],) * 2)[0 if lang == "id" else 1]
    for bound in ("min", "max"):
        values.setdefault(bound, "-")
    return template.format(**values)


def _indonesian(params: dict[str, Any], labels: Labels) -> dict[str, Any]:
    out = dict(params)
    for text, uri in LABEL_PARAMS:
        if text in out and uri in out:
            out[text] = labels.display(out[uri], out[text])
    return out


def _exact_key(params: dict[str, Any], labels: Labels) -> str:
    """'bisa X' for a skill, 'memahami X' for knowledge; without '(dari ...)' when the worker wrote
    the label itself."""
    stem = "knowledge_exact" if labels.is_knowledge(params.get("skill_uri")) else "skill_exact"
    shown = labels.indonesian(params.get("skill_uri")) or params["skill"]
    same = normalise_text(shown) == normalise_text(params.get("phrase") or "")
    return stem + "_as_written" if same else stem


def labels_in_english(messages: Any, labels: Labels | None = None) -> list[str]:
    """The ESCO labels these (key, params) messages show in English in Indonesian text, for want of
    an Indonesian label (distinct, in order)."""
    table = labels or shipped_labels()
    found = [params[text] for _, params in messages for text, uri in LABEL_PARAMS
             if params.get(uri) and text in params and table.indonesian(params[uri]) is None]
    return list(dict.fromkeys(found))
