"""Reasons and gaps in Indonesian and English: one template per message key."""

from __future__ import annotations

from typing import Any

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
    "skill_exact": ("memiliki {skill} (dari '{phrase}')", "has {skill} (from '{phrase}')"),
    "skill_related": ("{skill} dekat dengan yang diminta: {need}", "{skill} is close to the required {need}"),
    "skill_missing": ("{skill}", "{skill}"),
    "preferred_missing": ("{skill} (diutamakan)", "{skill} (preferred)"),
    "experience_related": ("pengalaman {years} tahun sebagai {job}", "{years} years as {job}"),
    "training_relevant": ("pelatihan {title} ({hours} jam) relevan", "training {title} ({hours} h) is relevant"),
    "semantic": ("profil mirip dengan lowongan ({score})", "profile resembles the vacancy ({score})"),
    "preference_match": ("sesuai pilihan negara/sektor pekerja", "matches the worker's chosen country or sector"),
}


def render(key: str, params: dict[str, Any], lang: str = "id") -> str:
    template = TEMPLATES[key][0 if lang == "id" else 1]
    values = {k: ("-" if v is None else v) for k, v in params.items()}
    if "document" in values:
        values["doc"] = DOCS.get(values["document"], (values["document"],) * 2)[0 if lang == "id" else 1]
    for bound in ("min", "max"):
        values.setdefault(bound, "-")
    return template.format(**values)
