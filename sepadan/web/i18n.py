"""The web app's words: Indonesian by default, English on request (``?lang=en`` or the ``lang``
cookie). One dictionary of UI strings per language; reasons and gaps come from the engine already
rendered in the chosen language (:func:`sepadan.matching.messages.render`)."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("id", "en")
DEFAULT = "id"

STRINGS: dict[str, dict[str, str]] = {
    "id": {
        "app": "sepadan", "tagline": "Penempatan kerja yang cocok dan legal",
        "nav.job_orders": "Job order", "nav.workers": "Pekerja", "nav.outcomes": "Hasil penempatan",
        "nav.planner": "Perencana", "nav.import": "Impor", "nav.admin": "Admin",
        "signin": "Masuk", "signout": "Keluar", "signin.key": "Kunci API", "signin.help":
            "Masukkan kunci API Anda (dari administrator). Kunci tidak disimpan di peramban.",
        "signin.bad": "Kunci tidak dikenal atau sudah dicabut.", "signin.portal":
            "Kunci portal tidak dapat masuk ke halaman petugas.", "signin.link_bad":
            "Tautan masuk tidak berlaku (sudah dipakai atau kedaluwarsa).",
        "signed_in_as": "Masuk sebagai", "role": "peran", "regions": "wilayah", "all_regions": "semua wilayah",
        "agency": "agensi", "language": "Bahasa", "other_lang": "English",
        "error": "Terjadi kesalahan", "forbidden": "Peran Anda tidak boleh membuka halaman ini.",
        "not_found": "Tidak ditemukan.", "csrf": "Formulir kedaluwarsa atau tidak sah; muat ulang halaman.",
        "bad_input": "Isian tidak sah", "back": "Kembali",
        "filter": "Saring", "country": "Negara", "sector": "Sektor", "deadline": "Batas waktu",
        "deadline_by": "Batas waktu paling lambat", "any": "semua", "licence": "Izin agensi",
        "positions": "Posisi", "title": "Jabatan", "employer": "Pemberi kerja", "open": "Buka",
        "job_orders.title": "Job order", "job_orders.count": "{n} job order",
        "job_orders.closed": "Termasuk yang sudah tutup", "job_orders.first": "{n} pertama ditampilkan",
        "lic.active": "izin aktif", "lic.not_required": "dalam negeri, tanpa P3MI", "lic.unknown": "tidak terdaftar",
        "lic.suspended": "dibekukan", "lic.revoked": "dicabut", "lic.expired": "kedaluwarsa",
        "lic.risk": "risiko non-prosedural",
        "shortlist": "Daftar kandidat", "region": "Wilayah", "region.help": "kode Kemendagri, mis. 35 atau 35.08",
        "include_ineligible": "Tampilkan juga yang tidak memenuhi syarat", "show": "Tampilkan",
        "rank": "#", "worker": "Pekerja", "name": "Nama", "score": "Skor", "reasons": "Alasan", "gaps": "Kekurangan",
        "fails": "Tidak memenuhi", "eligible": "memenuhi syarat", "not_eligible": "TIDAK memenuhi syarat",
        "no_results": "Tidak ada kandidat yang memenuhi syarat.", "model": "Model",
        "one_course": "Satu pelatihan lagi", "one_course.help":
            "Pekerja yang akan memenuhi syarat setelah satu pelatihan yang selesai sebelum batas waktu.",
        "needs": "Yang kurang", "courses": "Pelatihan", "none": "tidak ada",
        "compare": "Bandingkan", "compare.pick": "Pilih 2-4 kandidat untuk dibandingkan",
        "compare.count": "Pilih 2 sampai 4 kandidat.", "component": "Komponen",
        "export": "Unduh", "export.xlsx": "Excel", "export.csv": "CSV",
        "outcome": "Catat hasil", "stage": "Tahap", "date": "Tanggal", "save": "Simpan",
        "outcome.saved": "Hasil dicatat: {worker} {stage}.",
        "stage.shortlisted": "masuk daftar", "stage.interviewed": "diwawancara", "stage.offered": "ditawari",
        "stage.hired": "diterima", "stage.rejected": "ditolak", "stage.departed": "berangkat",
        "stage.completed": "selesai kontrak", "stage.withdrew": "mengundurkan diri",
        "outcomes.title": "Hasil penempatan", "job_order": "Job order",
        "workers.title": "Pekerja", "workers.count": "{n} pekerja", "next": "Berikutnya", "previous": "Sebelumnya",
        "profile": "Profil", "nik": "NIK", "gender": "Jenis kelamin", "education": "Pendidikan",
        "skills": "Keterampilan", "languages": "Bahasa asing", "experience": "Pengalaman",
        "trainings": "Pelatihan yang diikuti", "certificates": "Sertifikat", "available": "Tersedia",
        "yes": "ya", "no": "tidak", "documents": "Dokumen", "doc.ready": "ada", "doc.missing": "belum ada",
        "recommendations": "Rekomendasi lowongan", "overseas": "Luar negeri", "domestic": "Dalam negeri",
        "legal_only": "Hanya lowongan dari agensi berizin aktif.",
        "worker_gaps": "Kekurangan dan pelatihan yang menutupnya",
        "worker_gaps.summary": "Memenuhi syarat untuk {v} job order ({p} posisi); hampir memenuhi {n}.",
        "opens": "membuka {n} posisi", "no_gaps": "Tidak ada kekurangan yang dapat dilatih.",
        "doc_needed": "Dokumen yang diminta job order", "hours": "jam", "starts": "mulai",
    },
    "en": {
        "app": "sepadan", "tagline": "Matching people to legal jobs",
        "nav.job_orders": "Job orders", "nav.workers": "Workers", "nav.outcomes": "Outcomes",
        "nav.planner": "Planner", "nav.import": "Import", "nav.admin": "Admin",
        "signin": "Sign in", "signout": "Sign out", "signin.key": "API key", "signin.help":
            "Enter your API key (from an administrator). The key is not kept in the browser.",
        "signin.bad": "Unknown or revoked key.", "signin.portal": "A portal key cannot sign in to officer pages.",
        "signin.link_bad": "This sign-in link is not valid (used or expired).",
        "signed_in_as": "Signed in as", "role": "role", "regions": "regions", "all_regions": "every region",
        "agency": "agency", "language": "Language", "other_lang": "Bahasa Indonesia",
        "error": "Something went wrong", "forbidden": "Your role may not open this page.",
        "not_found": "Not found.", "csrf": "The form expired or is not valid; reload the page.",
        "bad_input": "Invalid input", "back": "Back",
        "filter": "Filter", "country": "Country", "sector": "Sector", "deadline": "Deadline",
        "deadline_by": "Deadline on or before", "any": "any", "licence": "Agency licence",
        "positions": "Positions", "title": "Title", "employer": "Employer", "open": "Open",
        "job_orders.title": "Job orders", "job_orders.count": "{n} job orders",
        "job_orders.closed": "Include closed ones", "job_orders.first": "the first {n} shown",
        "lic.active": "active licence", "lic.not_required": "domestic, no agency needed", "lic.unknown": "not registered",
        "lic.suspended": "suspended", "lic.revoked": "revoked", "lic.expired": "expired",
        "lic.risk": "non-procedural risk",
        "shortlist": "Shortlist", "region": "Region", "region.help": "Kemendagri code, e.g. 35 or 35.08",
        "include_ineligible": "Also show workers who fail a rule", "show": "Show",
        "rank": "#", "worker": "Worker", "name": "Name", "score": "Score", "reasons": "Reasons", "gaps": "Gaps",
        "fails": "Fails", "eligible": "eligible", "not_eligible": "NOT eligible",
        "no_results": "No eligible candidates.", "model": "Model",
        "one_course": "One course away", "one_course.help":
            "Workers who become eligible after one course that ends before the deadline.",
        "needs": "Missing", "courses": "Courses", "none": "none",
        "compare": "Compare", "compare.pick": "Pick 2-4 candidates to compare",
        "compare.count": "Pick 2 to 4 candidates.", "component": "Component",
        "export": "Download", "export.xlsx": "Excel", "export.csv": "CSV",
        "outcome": "Record outcome", "stage": "Stage", "date": "Date", "save": "Save",
        "outcome.saved": "Outcome recorded: {worker} {stage}.",
        "stage.shortlisted": "shortlisted", "stage.interviewed": "interviewed", "stage.offered": "offered",
        "stage.hired": "hired", "stage.rejected": "rejected", "stage.departed": "departed",
        "stage.completed": "completed", "stage.withdrew": "withdrew",
        "outcomes.title": "Outcomes", "job_order": "Job order",
        "workers.title": "Workers", "workers.count": "{n} workers", "next": "Next", "previous": "Previous",
        "profile": "Profile", "nik": "NIK", "gender": "Gender", "education": "Education",
        "skills": "Skills", "languages": "Languages", "experience": "Experience",
        "trainings": "Trainings done", "certificates": "Certificates", "available": "Available",
        "yes": "yes", "no": "no", "documents": "Documents", "doc.ready": "ready", "doc.missing": "missing",
        "recommendations": "Recommended vacancies", "overseas": "Overseas", "domestic": "Domestic",
        "legal_only": "Only vacancies of agencies with an active licence.",
        "worker_gaps": "Gaps and the courses that close them",
        "worker_gaps.summary": "Eligible for {v} job orders ({p} positions); nearly fits {n}.",
        "opens": "opens {n} positions", "no_gaps": "No trainable gaps.",
        "doc_needed": "Documents job orders ask for", "hours": "h", "starts": "starts",
    },
}


def pick(value: str | None) -> str | None:
    """A supported language code, or None."""
    return value if value in LANGS else None


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)`` in ``lang``; a key missing there falls back to Indonesian, then to the key."""
    words = STRINGS.get(lang, STRINGS[DEFAULT])

    def t(key: str, **values: object) -> str:
        text = words.get(key) or STRINGS[DEFAULT].get(key) or key
        return text.format(**values) if values else text

    return t


def extend(strings: dict[str, tuple[str, str]]) -> None:
    """Add a page module's strings, each as (Indonesian, English); called at the module's import.
    A key may be added once only (two modules cannot silently overwrite each other's words)."""
    for key, (indonesian, english) in strings.items():
        if key in STRINGS["id"] and STRINGS["id"][key] != indonesian:
            raise ValueError(f"UI string '{key}' is defined twice")
        STRINGS["id"][key], STRINGS["en"][key] = indonesian, english
