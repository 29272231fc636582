"""Vocabulary and weights for ``sepadan.demo_data`` (fictional demo data; see that module).

Weights follow the news seeds: Lampung's placements (Taiwan, Hong Kong, Malaysia, Singapore,
Japan; 65% informal), the sending regencies named in the seeds, and the training they describe.
Region codes are Ministry of Home Affairs (Kemendagri) codes.
"""

from __future__ import annotations

from dataclasses import dataclass

# concept: (English phrases, Indonesian phrases, free-text variants). Internal to the generator:
# it lets outcomes depend on real overlap; the files carry only the phrases.
CONCEPTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "elderly_care": (("elderly care", "assist elderly with daily activities"),
                     ("merawat lansia", "perawatan lansia", "merawat orang tua"),
                     ("rawat lansia", "jaga lansia", "ngurus orang tua")),
    "personal_care": (("patient care", "personal hygiene assistance", "bathing and feeding"),
                      ("merawat orang sakit",), ("rawat orang sakit",)),
    "dementia_care": (("dementia care",), (), ()),
    "mobility": (("patient mobility assistance", "wheelchair transfer"), (), ()),
    "first_aid": (("first aid",), ("pertolongan pertama",), ("P3K",)),
    "child_care": (("child care", "babysitting"), ("mengasuh anak",), ("ngasuh anak", "jaga anak")),
    "infant_care": (("infant care", "newborn care"), ("merawat bayi",), ("rawat bayi",)),
    "cooking": (("cooking", "prepare meals"), ("memasak", "masak", "tata boga"),
                ("bisa masak", "masak masakan rumahan")),
    "baking": (("baking", "pastry making"), ("membuat kue",), ("bikin kue",)),
    "cleaning": (("cleaning", "housekeeping", "house cleaning"),
                 ("bersih-bersih rumah", "membersihkan rumah", "pekerjaan rumah tangga",
                  "kebersihan"), ("beres-beres rumah",)),
    "laundry": (("laundry", "washing clothes"), ("mencuci pakaian",), ("nyuci baju",)),
    "ironing": (("ironing clothes",), ("menyetrika",), ("setrika baju",)),
    "sewing": (("sewing", "operate sewing machine", "garment sewing"), ("menjahit", "jahit"),
               ("jahit baju", "bisa jahit")),
    "fashion": (("garment making", "pattern cutting"), ("tata busana",), ()),
    "driving": (("driving", "car driving"), ("mengemudi", "sopir"), ("bisa nyetir",)),
    "ac_service": (("air conditioner servicing",), ("servis AC",), ("servis ac rumah",)),
    "motor_service": (("motorcycle repair",), ("servis motor",), ("bengkel motor",)),
    "welding": (("welding", "arc welding"), ("mengelas", "las listrik"), ("tukang las",)),
    "carpentry": (("carpentry", "formwork"), ("pertukangan kayu",), ("tukang kayu",)),
    "bamboo": (("bamboo craft",), ("kerajinan bambu", "anyaman bambu"), ()),
    "entrepreneurship": (("entrepreneurship",), ("kewirausahaan",), ("jualan online",)),
    "halal": (("halal certification",), ("sertifikasi halal",), ()),
    "hairdressing": (("hairdressing",), ("tata rambut",), ()),
    "makeup": (("make-up",), ("tata rias",), ()),
    "machine": (("machine operation", "operate production machine"),
                ("operator mesin", "operator produksi"), ()),
    "electronics": (("electronic assembly", "soldering"), ("perakitan elektronik",),
                    ("rakit elektronik",)),
    "packing": (("packing", "packaging products"), ("pengepakan",), ("packing barang",)),
    "food_processing": (("food processing", "food hygiene"), (), ()),
    "palm": (("oil palm harvesting", "harvest palm fruit"), ("panen sawit",), ("dodos sawit",)),
    "rubber": (("rubber tapping",), ("menyadap karet",), ("nyadap karet",)),
    "farming": (("crop farming", "harvest crops", "greenhouse work"), ("bertani", "berkebun"),
                ("kerja di sawah",)),
    "livestock": (("livestock care", "animal husbandry"), ("beternak",), ("ngurus ternak",)),
    "aquaculture": (("fish farming",), ("budidaya ikan",), ()),
    "fishing": (("fishing", "fish handling", "net mending"), ("menangkap ikan", "anak buah kapal"),
                ("melaut", "ABK kapal ikan")),
    "masonry": (("bricklaying", "concrete work"), ("tukang batu",), ("kuli bangunan",)),
    "painting": (("painting", "wall painting"), ("mengecat",), ("ngecat tembok",)),
    "electrical": (("electrical installation",), ("instalasi listrik",), ("pasang listrik",)),
    "food_service": (("food service", "waiting tables"), ("pelayan restoran",),
                     ("pelayan rumah makan",)),
    "hotel_housekeeping": (("hotel housekeeping", "room cleaning"), ("housekeeping hotel",), ()),
    "reception": (("front desk service",), ("resepsionis",), ()),
    "barista": (("coffee making",), ("barista",), ()),
    "cashier": (("cashier",), ("kasir",), ()),
    "forklift": (("forklift operation",), ("mengemudi forklift",), ("bisa forklift",)),
    "computer": (("basic computer skills", "microsoft office"), ("komputer dasar",
                                                                 "microsoft office"), ()),
    "massage": (("massage",), ("pijat",), ()),
    "safety": (("occupational safety",), ("keselamatan kerja",), ("K3",)),
}
PHRASE_CONCEPT = {phrase.casefold(): key for key, forms in CONCEPTS.items()
                  for group in forms for phrase in group}

SECTORS = ("care", "domestic_work", "manufacturing", "construction", "hospitality", "plantation",
           "fishery", "agriculture")

# code: (name, weight in the worker pool, number of districts used in NIKs)
REGIONS: dict[str, tuple[str, int, int]] = {
    "35.08": ("Lumajang", 6, 10), "35.09": ("Jember", 5, 10), "35.10": ("Banyuwangi", 5, 10),
    "35.04": ("Tulungagung", 4, 10), "35.05": ("Blitar", 4, 10), "35.07": ("Malang", 5, 10),
    "35.02": ("Ponorogo", 4, 10), "33.01": ("Cilacap", 5, 10), "33.02": ("Banyumas", 3, 10),
    "33.05": ("Kebumen", 3, 10), "33.29": ("Brebes", 4, 10), "32.03": ("Cianjur", 5, 10),
    "32.09": ("Cirebon", 4, 10), "32.12": ("Indramayu", 6, 10), "52.02": ("Lombok Tengah", 5, 10),
    "52.03": ("Lombok Timur", 6, 10), "18.01": ("Lampung Selatan", 3, 10),
    "18.02": ("Lampung Tengah", 3, 10), "18.04": ("Lampung Barat", 1, 10),
    "18.07": ("Lampung Timur", 4, 10), "18.71": ("Bandar Lampung", 2, 10),
    "53.01": ("Kupang", 3, 10), "53.71": ("Kota Kupang", 2, 6),
    "63.06": ("Hulu Sungai Selatan", 2, 10), "63.71": ("Banjarmasin", 1, 5),
    "92.71": ("Kota Sorong", 1, 10),
}
REGION_WEIGHTS = {code: weight for code, (_, weight, _) in REGIONS.items()}

COUNTRY_WEIGHTS = {"TW": 30, "HK": 17, "MY": 12, "SG": 6, "JP": 10, "KR": 7, "SA": 4, "ID": 14}
CURRENCY = {"TW": "TWD", "HK": "HKD", "MY": "MYR", "SG": "SGD", "JP": "JPY", "KR": "KRW",
            "SA": "SAR", "ID": "IDR"}
# country: {pay band: (lowest, highest, step)} per month
SALARY = {
    "TW": {"informal": (20000, 22000, 500), "care": (28000, 32000, 500),
           "formal": (28500, 34000, 500)},
    "HK": {"informal": (4990, 5400, 10), "care": (10000, 14000, 500),
           "formal": (13000, 17000, 500)},
    "MY": {"informal": (1500, 1800, 50), "care": (1800, 2500, 50), "formal": (1700, 2400, 50)},
    "SG": {"informal": (650, 800, 10), "care": (1300, 1900, 50), "formal": (1200, 1800, 50)},
    "SA": {"informal": (1500, 1800, 50), "care": (2000, 3000, 100), "formal": (1800, 2800, 100)},
    "JP": {"ssw": (180000, 240000, 1000), "titp": (150000, 180000, 1000)},
    "KR": {"formal": (2096270, 2500000, 10)},
    "ID": {"domestic": (2200000, 5500000, 50000)},
}
CITIES = {
    "TW": ("Taipei", "New Taipei", "Taoyuan", "Taichung", "Tainan", "Kaohsiung", "Changhua",
           "Hsinchu"),
    "HK": ("Kowloon City", "Sha Tin", "Tuen Mun", "Tsuen Wan", "Wan Chai", "Yuen Long"),
    "MY": ("Kuala Lumpur", "Johor Bahru", "Penang", "Selangor", "Sabah", "Sarawak"),
    "SG": ("Tampines", "Jurong West", "Woodlands", "Bedok", "Punggol", "Ang Mo Kio"),
    "JP": ("Osaka", "Tokyo", "Nagoya", "Fukuoka", "Hiroshima", "Saitama", "Chiba", "Shizuoka"),
    "KR": ("Ansan", "Hwaseong", "Gimhae", "Changwon", "Tongyeong", "Incheon", "Pyeongtaek"),
    "SA": ("Riyadh", "Jeddah", "Dammam", "Makkah", "Madinah"),
}
FIRM_WORDS = {"ID": ("Maju", "Jaya", "Sentosa", "Makmur", "Berkah", "Abadi", "Mandiri", "Lestari"),
              "xx": ("Golden", "Eastern", "Harmony", "Sunrise", "Evergreen", "Pacific", "Lotus",
                     "Pearl", "Crown", "Unity", "Bright", "Prosper")}
FIRM_SUFFIX = {"TW": " Co., Ltd.", "HK": " Ltd.", "MY": " Sdn. Bhd.", "SG": " Pte. Ltd.",
               "JP": " Co., Ltd.", "KR": " Co., Ltd.", "SA": " Est.", "ID": ""}
AGENCY_WORDS = ("Bina", "Karya", "Mandiri", "Sejahtera", "Duta", "Putra", "Nusantara", "Jaya",
                "Abadi", "Prima", "Citra", "Insani", "Sentosa", "Mitra", "Tenaga", "Bumi",
                "Cahaya", "Gemilang", "Perkasa", "Utama", "Harapan", "Persada", "Makmur",
                "Lestari", "Amanah", "Berkah", "Buana", "Sukses")


def _req(language: str, test: str, level: str) -> dict:
    return {"language": language, "test": test, "min_level": level}


# (chance, requirement) tried in order when a job has no language rule of its own
COUNTRY_LANGUAGES = {
    "TW": ((0.15, _req("zh", "HSK", "2")), (0.12, _req("zh", "TOCFL", "A1"))),
    "HK": ((0.35, _req("yue", "self", "basic")), (0.25, _req("en", "CEFR", "A2"))),
    "SG": ((0.4, _req("en", "CEFR", "A2")),),
    "MY": ((0.05, _req("en", "CEFR", "A1")),),
    "SA": ((0.2, _req("ar", "self", "basic")),),
}
JLPT_N4, JLPT_N3, JLPT_N5 = _req("ja", "JLPT", "N4"), _req("ja", "JLPT", "N3"), _req("ja", "JLPT",
                                                                                   "N5")
EPS = _req("ko", "EPS-TOPIK", "pass")


@dataclass(frozen=True, slots=True)
class Job:
    """A vacancy template: titles (title -> ISCO-08 code), sector, skills and rules."""

    titles: dict[str, str]
    sector: str
    required: tuple[str, ...]
    preferred: tuple[str, ...]
    description: str
    employers: tuple[str, ...]
    informal: bool = False
    education: tuple[str | None, ...] = (None, "SMP")
    ages: tuple[int, int] = (18, 40)
    gender: tuple[tuple[str, float], ...] = ()
    certificates: tuple[tuple[str, float], ...] = ()
    positions: tuple[int, int] = (2, 20)
    pay: str = "formal"
    program: str | None = None
    languages: tuple[dict, ...] | None = None


HOUSEHOLD = ("Private household, {city}",)
_CARE_SKILLS = ("elderly care", "personal hygiene assistance", "patient mobility assistance")
_CARE_EXTRA = ("dementia care", "first aid", "cooking", "wheelchair transfer")
SSW = dict(education=("SMA",), ages=(18, 35), positions=(2, 15), pay="ssw", program="SSW",
           languages=(JLPT_N4, JLPT_N4, JLPT_N4, JLPT_N3))
TITP = dict(education=("SMA",), ages=(18, 30), positions=(3, 20), pay="titp", program="TITP",
            languages=(JLPT_N5,))
KOREA = dict(education=(None,), ages=(18, 39), positions=(2, 20), program="EPS", languages=(EPS,))
HOME = dict(education=("SMP", "SMA", None), ages=(18, 40), positions=(1, 10), pay="domestic")

JOBS: dict[str, Job] = {
    "caregiver_home": Job(
        {"Caregiver for elderly": "5322", "Household caregiver": "5322",
         "Live-in caregiver (elderly)": "5322", "Home caregiver for bedridden patient": "5322"},
        "care", _CARE_SKILLS + ("cooking",), _CARE_EXTRA + ("cleaning",),
        "Live-in care for an elderly person in a private home in {city}: bathing, feeding, "
        "mobility help and light housework.", HOUSEHOLD, informal=True,
        education=(None, "SD", "SMP"), ages=(21, 45), gender=(("F", 0.55),),
        certificates=(("Sertifikat BNSP Caregiver", 0.2),), positions=(1, 15), pay="informal"),
    "domestic_helper": Job(
        {"Domestic helper": "9111", "Housemaid": "9111", "Domestic worker": "9111",
         "Foreign domestic worker": "9111"}, "domestic_work",
        ("cleaning", "cooking", "ironing clothes", "laundry", "house cleaning"),
        ("child care", "elderly care", "baking", "prepare meals"),
        "Household work for a family in {city}: cleaning, laundry, cooking and grocery shopping; "
        "live-in with a weekly rest day.", HOUSEHOLD, informal=True, education=(None, "SD", "SMP"),
        ages=(21, 45), gender=(("F", 0.6),),
        certificates=(("Sertifikat BNSP Pekerja Rumah Tangga", 0.15),), positions=(1, 20),
        pay="informal"),
    "nanny": Job(
        {"Domestic helper with child care": "5311", "Nanny": "5311"}, "domestic_work",
        ("child care", "infant care", "cleaning"), ("cooking", "laundry", "first aid"),
        "Care of young children and housework for a family in {city}.", HOUSEHOLD, informal=True,
        education=(None, "SMP"), ages=(21, 40), gender=(("F", 0.7),), positions=(1, 10),
        pay="informal"),
    "household_driver": Job(
        {"Household driver": "8322", "Family driver": "8322"}, "domestic_work", ("driving",),
        ("car driving", "cleaning"), "Driving family members around {city} and helping with "
        "errands.", HOUSEHOLD, informal=True, ages=(23, 45), gender=(("M", 0.95),),
        positions=(1, 6), pay="informal"),
    "nursing_home": Job(
        {"Nursing home caregiver": "5321", "Care assistant, elderly care home": "5321"}, "care",
        _CARE_SKILLS, _CARE_EXTRA, "Care assistant in a residential care home in {city}, working "
        "shifts with a team of nurses.", ("{city} {word} Care Home", "{city} Senior Living Centre"),
        education=("SMP", "SMA"), ages=(20, 40), gender=(("F", 0.4),), positions=(2, 15),
        pay="care"),
    "electronics": Job(
        {"Factory operator - electronics assembly": "8212",
         "Production operator (electronics)": "8212"}, "manufacturing",
        ("electronic assembly", "machine operation", "soldering"), ("occupational safety",
                                                                   "packing"),
        "Assembly and inspection of electronic components on a production line in {city}; "
        "rotating shifts.", ("{city} {word} Electronics{sfx}", "{word} Technology{sfx}"),
        gender=(("F", 0.3),), education=("SMP", "SMA"), ages=(18, 35), positions=(5, 30)),
    "metal": Job(
        {"Machine operator - metal parts": "7223", "CNC machine operator": "7223"},
        "manufacturing", ("machine operation", "operate production machine"),
        ("occupational safety", "forklift operation"), "Operating presses and machine tools "
        "for metal parts at a plant in {city}.", ("{city} {word} Precision Metal{sfx}",),
        gender=(("M", 0.5),)),
    "food_factory": Job(
        {"Food processing worker": "8160", "Factory worker - food packaging": "9321"},
        "manufacturing", ("food processing", "packing", "food hygiene"), ("occupational safety",),
        "Preparing and packing food products in a factory in {city}.",
        ("{word} Foods{sfx}", "{city} {word} Food Industries{sfx}")),
    "garment": Job(
        {"Garment sewing operator": "7533", "Sewing machinist": "7533"}, "manufacturing",
        ("operate sewing machine", "garment sewing"), ("pattern cutting", "packing"),
        "Sewing garments on industrial machines in a factory in {city}.",
        ("{word} Garment{sfx}",), gender=(("F", 0.5),)),
    "construction": Job(
        {"Construction worker": "9313", "General construction labourer": "9313",
         "Bricklayer": "7112"}, "construction",
        ("concrete work", "bricklaying", "occupational safety"), ("painting", "carpentry",
                                                                 "welding"),
        "Building site work in {city}: concrete, masonry and general labour.",
        ("{word} Construction{sfx}", "{city} {word} Builders{sfx}"), ages=(20, 40),
        gender=(("M", 0.7),)),
    "welder": Job(
        {"Welder": "7212", "Welder (SMAW)": "7212"}, "construction", ("welding", "arc welding"),
        ("occupational safety",), "Structural steel welding at workshops and sites in {city}.",
        ("{word} Engineering{sfx}",), gender=(("M", 0.7),),
        certificates=(("Sertifikat BNSP Pengelasan", 0.4),)),
    "palm": Job(
        {"Palm oil plantation worker": "9211", "Plantation harvester": "9211"}, "plantation",
        ("oil palm harvesting", "harvest palm fruit"), ("occupational safety", "crop farming"),
        "Harvesting and field maintenance on an oil palm estate in {city}.",
        ("{word} Plantations{sfx}", "Ladang {word} {city}{sfx}"), ages=(18, 45),
        gender=(("M", 0.6),)),
    "rubber": Job(
        {"Rubber tapper": "9211"}, "plantation", ("rubber tapping",), ("crop farming",),
        "Tapping rubber trees and collecting latex on an estate in {city}.",
        ("{word} Rubber Estate{sfx}",)),
    "fishing": Job(
        {"Fishing vessel crew": "6223", "Deck hand, fishing boat": "6223"}, "fishery",
        ("fishing", "fish handling", "net mending"), ("occupational safety", "first aid"),
        "Crew work on a fishing vessel based in {city}: handling nets and catch, sorting and "
        "icing fish.", ("{word} Fishery{sfx}", "{city} {word} Marine{sfx}"), ages=(18, 40),
        gender=(("M", 0.9),), certificates=(("Basic Safety Training (BST)", 0.4),)),
    "aquaculture": Job(
        {"Fish farm worker": "6221"}, "fishery", ("fish farming", "fish handling"),
        ("occupational safety",), "Feeding, grading and harvesting fish at a farm in {city}.",
        ("{word} Aquaculture{sfx}",)),
    "farm": Job(
        {"Farm worker - vegetables": "9211", "Greenhouse worker": "9211"}, "agriculture",
        ("crop farming", "harvest crops", "greenhouse work"), ("livestock care",),
        "Planting, tending and harvesting vegetables near {city}.", ("{word} Farm{sfx}",)),
    "hotel_hk": Job(
        {"Hotel housekeeping attendant": "9112", "Room attendant": "9112"}, "hospitality",
        ("hotel housekeeping", "room cleaning"), ("laundry", "front desk service"),
        "Cleaning and preparing guest rooms in a hotel in {city}.", ("{city} {word} Hotel",),
        education=("SMP", "SMA")),
    "cook": Job(
        {"Cook": "5120", "Kitchen helper": "9412"}, "hospitality",
        ("cooking", "prepare meals", "food hygiene"), ("baking",),
        "Preparing meals in a restaurant kitchen in {city}.", ("{word} Restaurant{sfx}",)),
    "waiter": Job(
        {"Restaurant waiter/waitress": "5131", "Food and beverage attendant": "5131"},
        "hospitality", ("food service", "waiting tables"), ("coffee making", "cashier"),
        "Serving guests in a restaurant in {city}.", ("{word} Restaurant{sfx}",)),
    "ssw_kaigo": Job(
        {"Caregiver (kaigo), Specified Skilled Worker": "5322", "Care worker (kaigo) SSW": "5322"},
        "care", _CARE_SKILLS, ("dementia care", "cooking", "first aid"),
        "Daily care of elderly residents at a nursing home in {city} under the Specified "
        "Skilled Worker (kaigo) programme.", ("{word} Care {city}", "Care Home {word} {city}"),
        certificates=(("SSW kaigo skills test", 1.0),), **SSW),
    "ssw_food_service": Job(
        {"Restaurant staff, SSW food service": "5120", "Kitchen staff (SSW food service)": "5120"},
        "hospitality", ("cooking", "food hygiene", "food service"), ("waiting tables",),
        "Kitchen and floor work at a restaurant chain in {city} (Specified Skilled Worker).",
        ("{word} Dining{sfx}",), certificates=(("SSW food service skills test", 1.0),), **SSW),
    "ssw_food_mfg": Job(
        {"Food manufacturing worker, SSW": "8160", "Bento factory worker (SSW)": "8160"},
        "manufacturing", ("food processing", "food hygiene", "packing"), ("machine operation",),
        "Food production line work in {city} (Specified Skilled Worker).",
        ("{word} Foods{sfx}",), certificates=(("SSW food manufacturing skills test", 1.0),),
        **SSW),
    "ssw_mfg": Job(
        {"Manufacturing operator, SSW": "7223",
         "Machine operator (SSW industrial products)": "7223"}, "manufacturing",
        ("machine operation", "operate production machine"), ("occupational safety", "welding"),
        "Machining and assembly at a parts maker in {city} (Specified Skilled Worker).",
        ("{word} Kogyo{sfx}",), certificates=(("SSW manufacturing skills test", 1.0),), **SSW),
    "ssw_construction": Job(
        {"Construction worker, SSW": "9313", "Scaffolding worker (SSW construction)": "7119"},
        "construction", ("concrete work", "occupational safety"), ("carpentry", "welding"),
        "Building site work in {city} (Specified Skilled Worker).", ("{word} Kensetsu{sfx}",),
        certificates=(("SSW construction skills test", 1.0),), gender=(("M", 0.5),), **SSW),
    "ssw_agri": Job(
        {"Farm worker, SSW agriculture": "9211"}, "agriculture", ("crop farming",
                                                                  "greenhouse work"),
        ("livestock care",), "Greenhouse and field work near {city} (Specified Skilled Worker).",
        ("{word} Nojo{sfx}",), certificates=(("SSW agriculture skills test", 1.0),), **SSW),
    "titp_mfg": Job(
        {"Technical intern (TITP) - food processing": "8160",
         "Technical intern (TITP) - metal press": "7223",
         "Technical intern (TITP) - sewing": "7533"}, "manufacturing",
        ("machine operation", "food processing", "operate sewing machine"),
        ("occupational safety",),
        "Three-year technical internship at a factory in {city}.", ("{word} Kogyo{sfx}",), **TITP),
    "titp_agri": Job(
        {"Technical intern (TITP) - agriculture": "9211"}, "agriculture",
        ("crop farming", "harvest crops"), ("livestock care",),
        "Three-year technical internship on a farm near {city}.", ("{word} Nojo{sfx}",), **TITP),
    "eps_mfg": Job(
        {"Production worker (EPS)": "9329", "Plastic injection machine operator (EPS)": "8142"},
        "manufacturing", ("machine operation", "operate production machine", "packing"),
        ("occupational safety", "forklift operation"), "Production line work at a small "
        "manufacturer in {city} under the Employment Permit System.", ("{city} {word}{sfx}",),
        **KOREA),
    "eps_fish": Job(
        {"Fishing vessel crew (EPS)": "6223", "Aquaculture worker (EPS)": "6221"}, "fishery",
        ("fishing", "fish handling", "fish farming"), ("net mending",), "Coastal fishery and "
        "aquaculture work in {city} under the Employment Permit System.",
        ("{city} {word} Fisheries{sfx}",), gender=(("M", 0.8),), **KOREA),
    "eps_agri": Job(
        {"Crop farm worker (EPS)": "9211", "Livestock worker (EPS)": "9212"}, "agriculture",
        ("crop farming", "livestock care"), ("harvest crops",), "Farm work near {city} under the "
        "Employment Permit System.", ("{city} {word} Farm",), **KOREA),
    "eps_constr": Job(
        {"Construction labourer (EPS)": "9313"}, "construction", ("concrete work", "bricklaying"),
        ("occupational safety",), "Building site work in {city} under the Employment Permit "
        "System.", ("{word} Construction{sfx}",), gender=(("M", 0.8),), **KOREA),
    "id_penjahit": Job(
        {"Penjahit garmen": "7533", "Operator jahit konveksi": "7533", "Penjahit butik": "7531"},
        "manufacturing", ("menjahit", "operator mesin"), ("tata busana", "pengepakan"),
        "Menjahit pakaian jadi di konveksi di {city}; kerja enam hari seminggu.",
        ("CV {word} Konveksi {city}", "PT {word} Garmen {city}"), gender=(("F", 0.5),), **HOME),
    "id_juru_masak": Job(
        {"Juru masak restoran": "5120", "Asisten koki": "9412"}, "hospitality",
        ("memasak", "tata boga"), ("membuat kue", "sertifikasi halal"),
        "Menyiapkan masakan di dapur rumah makan di {city}.",
        ("Rumah Makan {word} Rasa {city}", "Hotel {word} {city}"), **HOME),
    "id_operator": Job(
        {"Operator produksi": "8219", "Operator perakitan elektronik": "8212"}, "manufacturing",
        ("operator produksi", "perakitan elektronik", "pengepakan"), ("keselamatan kerja",),
        "Bekerja di lini produksi pabrik di {city}, sistem tiga sif.",
        ("PT {word} Elektronik {city}", "PT {word} Manufaktur {city}"), **HOME),
    "id_pelayan": Job(
        {"Pelayan restoran": "5131", "Kasir restoran": "5230"}, "hospitality",
        ("pelayan restoran", "kasir"), ("barista", "komputer dasar"),
        "Melayani tamu dan kasir di rumah makan di {city}.", ("Rumah Makan {word} Rasa {city}",),
        **HOME),
    "id_hotel": Job(
        {"Staf housekeeping hotel": "9112", "Room attendant hotel": "9112"}, "hospitality",
        ("housekeeping hotel", "kebersihan"), ("mencuci pakaian",),
        "Membersihkan dan menyiapkan kamar tamu hotel di {city}.", ("Hotel {word} {city}",),
        **HOME),
    "id_perawat_lansia": Job(
        {"Perawat lansia (home care)": "5322", "Pendamping lansia": "5322"}, "care",
        ("merawat lansia", "merawat orang sakit"), ("pertolongan pertama", "memasak"),
        "Mendampingi dan merawat lansia di rumah keluarga atau panti di {city}.",
        ("Yayasan {word} Lansia {city}", "Klinik {word} {city}"), **HOME),
    "id_art": Job(
        {"Asisten rumah tangga": "9111"}, "domestic_work",
        ("pekerjaan rumah tangga", "memasak", "mencuci pakaian", "menyetrika"), ("mengasuh anak",),
        "Pekerjaan rumah tangga untuk keluarga di {city}, menginap atau pulang hari.",
        ("Rumah tangga pribadi, {city}",), informal=True, gender=(("F", 0.9),), **HOME),
    "id_pengasuh": Job(
        {"Pengasuh anak (baby sitter)": "5311"}, "domestic_work", ("mengasuh anak",
                                                                    "merawat bayi"),
        ("memasak",), "Mengasuh balita untuk keluarga di {city}.",
        ("Rumah tangga pribadi, {city}",), informal=True, gender=(("F", 0.95),), **HOME),
    "id_teknisi_ac": Job(
        {"Teknisi AC": "7127"}, "construction", ("servis AC", "instalasi listrik"),
        ("mengemudi",), "Pemasangan dan servis AC rumah dan kantor di {city}.",
        ("CV {word} Teknik {city}",), gender=(("M", 0.8),), **HOME),
    "id_mekanik": Job(
        {"Mekanik sepeda motor": "7231"}, "manufacturing", ("servis motor",), ("kasir",),
        "Servis dan perbaikan sepeda motor di bengkel di {city}.", ("Bengkel {word} Motor {city}",),
        gender=(("M", 0.8),), **HOME),
    "id_las": Job(
        {"Tukang las": "7212", "Welder konstruksi baja": "7212"}, "construction",
        ("mengelas", "las listrik", "keselamatan kerja"), ("mengecat",),
        "Pengelasan rangka baja untuk proyek bangunan di {city}.", ("CV {word} Baja {city}",),
        gender=(("M", 0.8),), **HOME),
    "id_sawit": Job(
        {"Pemanen sawit": "9211", "Buruh kebun sawit": "9211"}, "plantation", ("panen sawit",),
        ("keselamatan kerja", "bertani"), "Panen dan perawatan kebun sawit milik perusahaan "
        "di {city}.", ("PT {word} Agro Lestari",), **HOME),
    "id_ikan": Job(
        {"Pekerja budidaya ikan": "6221"}, "fishery", ("budidaya ikan",), ("menangkap ikan",),
        "Budidaya ikan air tawar di kolam dan keramba di {city}.", ("UD {word} Perikanan {city}",),
        **HOME),
    "id_tani": Job(
        {"Buruh tani hortikultura": "9211"}, "agriculture", ("bertani", "berkebun"), ("beternak",),
        "Menanam dan memanen sayuran di kebun di {city}.", ("Kelompok Tani {word} {city}",),
        **HOME),
    "id_forklift": Job(
        {"Operator forklift gudang": "8344"}, "manufacturing", ("mengemudi forklift",
                                                                "keselamatan kerja"),
        ("pengepakan",), "Mengoperasikan forklift di gudang distribusi di {city}.",
        ("PT {word} Logistik {city}",), gender=(("M", 0.8),), **HOME),
}
INFORMAL_JOBS = tuple(key for key, job in JOBS.items() if job.informal)

COUNTRY_JOBS = {
    "TW": {"caregiver_home": 45, "domestic_helper": 22, "nanny": 3, "nursing_home": 3,
           "electronics": 8, "metal": 5, "food_factory": 3, "fishing": 5, "construction": 3,
           "farm": 2, "aquaculture": 1},
    "HK": {"domestic_helper": 60, "caregiver_home": 20, "nanny": 15, "hotel_hk": 3,
           "nursing_home": 2},
    "MY": {"domestic_helper": 30, "caregiver_home": 8, "nanny": 2, "palm": 22, "rubber": 4,
           "electronics": 8, "garment": 4, "food_factory": 3, "construction": 10, "welder": 3,
           "hotel_hk": 3, "cook": 3},
    "SG": {"domestic_helper": 60, "caregiver_home": 20, "nanny": 10, "nursing_home": 5,
           "construction": 3, "welder": 2},
    "SA": {"domestic_helper": 60, "caregiver_home": 10, "household_driver": 15, "cook": 5,
           "hotel_hk": 5, "waiter": 5},
    "JP": {"ssw_kaigo": 30, "ssw_food_service": 15, "ssw_food_mfg": 12, "ssw_mfg": 10,
           "ssw_construction": 5, "ssw_agri": 6, "titp_mfg": 14, "titp_agri": 8},
    "KR": {"eps_mfg": 60, "eps_fish": 20, "eps_agri": 12, "eps_constr": 8},
    "ID": {"id_penjahit": 15, "id_juru_masak": 12, "id_operator": 15, "id_pelayan": 10,
           "id_hotel": 6, "id_perawat_lansia": 8, "id_art": 8, "id_pengasuh": 4,
           "id_teknisi_ac": 6, "id_mekanik": 4, "id_las": 5, "id_sawit": 4, "id_ikan": 3,
           "id_tani": 4, "id_forklift": 3},
}


@dataclass(frozen=True, slots=True)
class Archetype:
    """A kind of worker: the sector they aim at and what their profile tends to hold."""

    key: str
    sectors: tuple[str, ...]
    core: tuple[str, ...]
    concepts: tuple[str, ...]
    occupations: tuple[str, ...]
    countries: dict[str, int]
    ages: tuple[int, int, int]
    education: str = "base"
    certificates: tuple[tuple[str, float, bool], ...] = ()  # (name, chance, only if JP wanted)


_CARE = ("elderly_care", "personal_care", "cooking", "cleaning", "first_aid", "child_care",
         "infant_care", "laundry")
_CARERS = ("pengasuh lansia", "caregiver", "perawat lansia", "pendamping lansia", "PRT")
ARCHETYPES = {a.key: a for a in (
    Archetype("care", ("care",), (), _CARE, _CARERS,
              {"TW": 5, "HK": 3, "SG": 2, "MY": 1, "SA": 1, "JP": 1}, (18, 45, 27),
              certificates=(("Sertifikat BNSP Caregiver", 0.2, False),
                            ("SSW kaigo skills test", 0.15, True))),
    Archetype("care_jp", ("care",), ("elderly_care",), _CARE[1:6] + ("dementia_care", "mobility"),
              _CARERS[:4], {"JP": 10, "TW": 1}, (19, 38, 24), "higher",
              (("SSW kaigo skills test", 0.5, True), ("Kaigo Japanese language test", 0.35, True),
               ("Sertifikat BNSP Caregiver", 0.3, False))),
    Archetype("domestic", ("domestic_work",), (),
              ("cleaning", "cooking", "laundry", "ironing", "child_care", "infant_care",
               "elderly_care", "baking"),
              ("PRT", "pembantu rumah tangga", "domestic helper", "pengasuh anak", "ART"),
              {"HK": 6, "TW": 5, "SG": 3, "MY": 2, "SA": 2}, (20, 45, 30),
              certificates=(("Sertifikat BNSP Pekerja Rumah Tangga", 0.15, False),)),
    Archetype("factory", ("manufacturing",), (),
              ("machine", "electronics", "packing", "sewing", "forklift", "computer",
               "food_processing"),
              ("buruh pabrik", "operator mesin", "operator produksi", "penjahit",
               "factory worker"), {"TW": 5, "MY": 2, "KR": 3, "JP": 2}, (18, 40, 24),
              certificates=(("SSW manufacturing skills test", 0.2, True),
                            ("Sertifikat BNSP Operator Produksi", 0.1, False))),
    Archetype("construction", ("construction",), (),
              ("welding", "masonry", "painting", "electrical", "carpentry", "safety"),
              ("tukang las", "tukang batu", "kuli bangunan", "welder", "tukang kayu"),
              {"MY": 2, "KR": 2, "JP": 1, "SA": 1, "TW": 1, "SG": 1}, (19, 45, 28),
              certificates=(("Sertifikat BNSP Pengelasan", 0.2, False),
                            ("SSW construction skills test", 0.15, True))),
    Archetype("hospitality", ("hospitality",), (),
              ("food_service", "cooking", "hotel_housekeeping", "reception", "barista", "cashier",
               "baking", "cleaning"),
              ("pelayan restoran", "juru masak", "cook", "room attendant", "kasir"),
              {"JP": 3, "MY": 2, "SA": 2, "HK": 1}, (18, 40, 24),
              certificates=(("SSW food service skills test", 0.25, True),
                            ("Sertifikat BNSP Tata Boga", 0.15, False))),
    Archetype("plantation", ("plantation",), (), ("palm", "rubber", "farming", "safety"),
              ("buruh sawit", "petani", "penyadap karet"), {"MY": 6}, (19, 45, 30), "low"),
    Archetype("fishery", ("fishery",), (), ("fishing", "aquaculture", "safety"),
              ("nelayan", "ABK", "anak buah kapal"), {"TW": 4, "KR": 3}, (18, 42, 26), "low",
              (("Basic Safety Training (BST)", 0.3, False),)),
    Archetype("agriculture", ("agriculture",), (), ("farming", "livestock", "aquaculture"),
              ("petani", "buruh tani", "peternak"), {"KR": 3, "JP": 2, "MY": 1}, (18, 45, 27),
              "low", (("SSW agriculture skills test", 0.2, True),)),
    Archetype("local", ("manufacturing", "hospitality", "care"), (),
              ("sewing", "fashion", "cooking", "baking", "ac_service", "motor_service", "halal",
               "bamboo", "entrepreneurship", "hairdressing", "makeup", "driving", "computer",
               "massage"),
              ("penjahit", "sopir", "montir", "pedagang", "penata rias", "juru masak"), {},
              (18, 45, 28), certificates=(("Sertifikat BNSP Menjahit", 0.1, False),
                                          ("Sertifikat BNSP Tata Boga", 0.08, False))),
)}
ARCHETYPE_WEIGHTS = {
    "F": {"care": 26, "care_jp": 6, "domestic": 32, "factory": 12, "hospitality": 9,
          "local": 11, "agriculture": 2, "plantation": 2},
    "M": {"care": 3, "care_jp": 2, "factory": 25, "construction": 20, "fishery": 14,
          "plantation": 11, "agriculture": 10, "hospitality": 7, "local": 8},
}
EDUCATION = {
    "base": {"SD": 12, "SMP": 28, "SMA": 25, "SMK": 22, "D3": 5, "S1": 6},
    "higher": {"SMP": 4, "SMA": 38, "SMK": 40, "D3": 10, "S1": 8},
    "low": {"SD": 25, "SMP": 40, "SMA": 17, "SMK": 15, "D3": 2, "S1": 1},
}
EXPERIENCE_YEARS = (0.5, 1, 1, 1.5, 2, 2, 3, 4, 5, 6, 8, 10)
DOCUMENT_READY = {"passport": 0.65, "medical": 0.5, "police_clearance": 0.4, "bpjs": 0.65,
                  "family_consent": 0.75}

# country: (chance of holding the destination's language, {(language, test, level): weight})
WORKER_LANGUAGES = {
    "JP": (0.65, {("ja", "JLPT", "N5"): 45, ("ja", "JLPT", "N4"): 28, ("ja", "JLPT", "N3"): 8,
                  ("ja", "JLPT", "N2"): 2, ("ja", "JFT-Basic", "A2"): 10}),
    "KR": (0.6, {("ko", "EPS-TOPIK", "pass"): 50, ("ko", "EPS-TOPIK", "142"): 8,
                 ("ko", "EPS-TOPIK", "128"): 6, ("ko", "EPS-TOPIK", "165"): 5,
                 ("ko", "EPS-TOPIK", "110"): 4, ("ko", "EPS-TOPIK", "97"): 3,
                 ("ko", "EPS-TOPIK", "71"): 2}),
    "TW": (0.35, {("zh", "HSK", "1"): 30, ("zh", "HSK", "2"): 35, ("zh", "HSK", "3"): 15,
                  ("zh", "HSK", "4"): 5, ("zh", "TOCFL", "A1"): 10, ("zh", "TOCFL", "A2"): 5}),
    "HK": (0.5, {("yue", "self", "basic"): 55, ("yue", "self", "intermediate"): 25,
                 ("en", "CEFR", "A2"): 20}),
    "SG": (0.55, {("en", "CEFR", "A1"): 25, ("en", "CEFR", "A2"): 45, ("en", "CEFR", "B1"): 22,
                  ("en", "CEFR", "B2"): 8}),
    "SA": (0.35, {("ar", "self", "basic"): 80, ("ar", "self", "intermediate"): 20}),
}
WORKER_LANGUAGES_JP_CARE = (0.95, {("ja", "JLPT", "N5"): 12, ("ja", "JLPT", "N4"): 45,
                                   ("ja", "JLPT", "N3"): 20, ("ja", "JLPT", "N2"): 5,
                                   ("ja", "JFT-Basic", "A2"): 18})
CEFR_WEIGHTS = {"A1": 4, "A2": 4, "B1": 2, "B2": 1}
COUNTRY_LANGUAGE = {"JP": "ja", "KR": "ko", "TW": "zh", "HK": "yue", "SG": "en", "SA": "ar"}
_BANDS = {"A1": 1, "A2": 2, "B1": 3, "B2": 4, "C1": 5, "C2": 6}
LADDERS = {"JLPT": {"N5": 1, "N4": 2, "N3": 3, "N2": 4, "N1": 5},
           "HSK": {str(i): i for i in range(1, 7)}, "TOCFL": _BANDS, "CEFR": _BANDS,
           "self": {"basic": 1, "intermediate": 2, "fluent": 3}}

FIRST_NAMES = {
    "F": ("Siti", "Sri", "Dewi", "Nur", "Rina", "Ani", "Yuli", "Fitri", "Ayu", "Indah", "Eka",
          "Dwi", "Tri", "Wulan", "Ratna", "Endang", "Puji", "Lilis", "Neneng", "Euis", "Iis",
          "Nining", "Umi", "Yanti", "Winarti", "Sulastri", "Rohmah", "Anisa", "Aisyah", "Nurul",
          "Novita", "Desi", "Linda", "Tuti", "Marlina", "Rosita", "Kartini", "Suci", "Putri",
          "Wahyuni"),
    "M": ("Agus", "Budi", "Eko", "Dedi", "Joko", "Slamet", "Ahmad", "Muhammad", "Rudi", "Andi",
          "Hendra", "Yusuf", "Imam", "Arif", "Bayu", "Fajar", "Samsul", "Wahyu", "Rizki", "Dimas",
          "Teguh", "Bambang", "Heru", "Sugeng", "Asep", "Ujang", "Dadang", "Iwan", "Nanang",
          "Supriyadi", "Ali", "Hasan", "Abdul", "Rahmat", "Taufik", "Yudi", "Anton", "Wawan"),
}
SECOND_NAMES = {
    "F": ("Rahayu", "Lestari", "Wulandari", "Handayani", "Kusumawati", "Nurhayati", "Suryani",
          "Setyaningsih", "Rahmawati", "Susanti", "Fitriani", "Maulida", "Safitri", "Purwanti",
          "Yuliani", "Ningsih", "Puspitasari", "Hidayah", "Aminah", "Khotimah", "Mardiyah",
          "Anggraini", "Permatasari", "Kurniasih", "Sulistyowati", "Rahma"),
    "M": ("Setiawan", "Santoso", "Saputra", "Prasetyo", "Hidayat", "Nugroho", "Wibowo",
          "Kurniawan", "Susanto", "Purnomo", "Firmansyah", "Hakim", "Maulana", "Ramadhan",
          "Gunawan", "Suryadi", "Syahputra", "Hermawan", "Pratama", "Wijaya", "Rahman", "Sholeh",
          "Mustofa", "Effendi"),
}
LOCAL_FIRST = {
    ("52", "F"): ("Baiq Nurul", "Baiq Rina", "Baiq Sri", "Baiq Hartini", "Baiq Fitria"),
    ("52", "M"): ("Lalu Ahmad", "Lalu Muhammad", "Lalu Hasan", "Lalu Zainal"),
    ("53", "F"): ("Maria", "Yohana", "Agustina", "Yuliana", "Ferderika", "Margaretha"),
    ("53", "M"): ("Yohanes", "Fransiskus", "Yosef", "Petrus", "Marthen", "Yakobus"),
    ("92", "F"): ("Yosina", "Maria", "Ester", "Naomi"),
    ("92", "M"): ("Yohanis", "Markus", "Otto", "Daniel"),
}
LOCAL_SURNAMES = {"53": ("Tefa", "Manafe", "Nenobais", "Benu", "Lake", "Ndun", "Bana", "Tallo"),
                  "92": ("Kambu", "Kalami", "Malak", "Osok", "Mobalen")}

_JA = lambda level: {"language": "ja", "test": "JLPT", "level": level}  # noqa: E731
# (title, skills, languages, hours choices, family); family picks the provider's name
COURSES = (
    ("Menjahit pakaian", ("menjahit",), (), (120, 160, 240), "skill"),
    ("Tata busana", ("tata busana", "menjahit"), (), (160, 240), "skill"),
    ("Tata boga", ("tata boga", "membuat kue"), (), (120, 160, 200), "skill"),
    ("Servis AC", ("servis AC", "instalasi listrik"), (), (120, 160), "skill"),
    ("Servis sepeda motor", ("servis motor",), (), (160, 240), "skill"),
    ("Pengelasan SMAW", ("mengelas", "las listrik", "keselamatan kerja"), (), (240, 320, 480),
     "skill"),
    ("Operator produksi", ("operator produksi", "keselamatan kerja"), (), (80, 120, 160), "skill"),
    ("Perakitan elektronik", ("perakitan elektronik",), (), (120, 160), "skill"),
    ("Barista dan pelayan restoran", ("barista", "pelayan restoran"), (), (80, 120), "skill"),
    ("Housekeeping hotel", ("housekeeping hotel", "kebersihan"), (), (120, 160), "skill"),
    ("Kewirausahaan dan sertifikasi halal", ("kewirausahaan", "sertifikasi halal"), (),
     (40, 60, 80), "skill"),
    ("Kerajinan bambu dan kayu", ("kerajinan bambu", "pertukangan kayu"), (), (80, 120), "skill"),
    ("Tata rias dan tata rambut", ("tata rias", "tata rambut"), (), (120, 160), "skill"),
    ("Mengemudi forklift", ("mengemudi forklift", "keselamatan kerja"), (), (40, 60), "skill"),
    ("Komputer perkantoran", ("komputer dasar", "microsoft office"), (), (60, 80, 120), "skill"),
    ("Budidaya ikan air tawar", ("budidaya ikan",), (), (80, 120), "skill"),
    ("Keselamatan kerja di kapal perikanan", ("menangkap ikan", "keselamatan kerja"), (),
     (40, 60), "skill"),
    ("Caregiver dasar", ("perawatan lansia", "pertolongan pertama"), (), (200, 240), "care"),
    ("Perawatan lansia lanjutan", ("perawatan lansia", "merawat orang sakit"), (), (300, 400),
     "care"),
    ("Pengasuhan anak (baby sitter)", ("mengasuh anak", "merawat bayi"), (), (160, 200), "care"),
    ("Pekerjaan rumah tangga (PRT)",
     ("pekerjaan rumah tangga", "memasak", "mencuci pakaian", "menyetrika"), (), (200, 240),
     "care"),
    ("Bahasa Jepang N5", (), (_JA("N5"),), (240, 360), "ja"),
    ("Bahasa Jepang N4", (), (_JA("N4"),), (480, 960), "ja"),
    ("Persiapan JFT-Basic A2", (), ({"language": "ja", "test": "JFT-Basic", "level": "A2"},),
     (360, 480), "ja"),
    ("Persiapan ujian SSW kaigo", ("perawatan lansia",), (_JA("N4"),), (480, 600), "ja"),
    ("Persiapan EPS-TOPIK", (), ({"language": "ko", "test": "EPS-TOPIK", "level": "pass"},),
     (240, 360), "ko"),
    ("Bahasa Mandarin dasar", (), ({"language": "zh", "test": "HSK", "level": "2"},), (160, 240),
     "zh"),
    ("Bahasa Inggris A2", (), ({"language": "en", "test": "CEFR", "level": "A2"},),
     (80, 120, 160), "en"),
    ("Bahasa Kanton dasar", (), ({"language": "yue", "test": "self", "level": "basic"},),
     (120, 160), "yue"),
    ("Bahasa Arab dasar", (), ({"language": "ar", "test": "self", "level": "basic"},), (80, 120),
     "ar"),
)
PUBLIC_FAMILIES = {"skill": 0.5, "care": 0.35, "ja": 0.15}  # chance that a BLK runs it
LPK_NAMES = {"skill": ("Mitra", "Bina Terampil", "Karya Mandiri", "Cipta Kerja"),
             "care": ("Caregiver Insani", "Mitra", "Bunda Care"),
             "ja": ("Sakura Nihongo", "Hikari", "Mitra", "Fuji Gakuin"),
             "ko": ("Hana Korea", "Seoul Center"), "zh": ("Mandarin Harapan", "Formosa"),
             "en": ("English First Step", "Global Bahasa"),
             "yue": ("Kanton Harapan", "Hong Kong Prima"), "ar": ("Al-Hikmah", "Timur Tengah")}

_V0042 = {
    "id": "V-0042", "title": "Caregiver (kaigo), Specified Skilled Worker",
    "employer": "Sakura Care Osaka", "agency_licence": "P3MI-2023-0117", "country": "JP",
    "region": None, "sector": "care", "occupation": "5322",
    "description": "Daily care of elderly residents in a nursing home in Osaka: bathing, meals, "
                   "mobility and recreation, working alongside Japanese care staff.",
    "skills_required": ["elderly care", "personal hygiene assistance"],
    "skills_preferred": ["dementia care", "cooking"],
    "languages": [{"language": "ja", "test": "JLPT", "min_level": "N4"}],
    "education_min": "SMA", "age_min": 18, "age_max": 35, "gender": None,
    "experience_years_min": 0, "certificates_required": ["SSW kaigo skills test"],
    "positions": 12, "salary": {"amount": 180000, "currency": "JPY", "period": "month"},
    "scheme": "P2P", "deadline": "2026-12-31", "open": True, "program": "SSW"}
_V0099 = dict(_V0042, id="V-0099", title="Caregiver", employer="Private household, Taichung",
              agency_licence=None, country="TW",
              description="Live-in care for an elderly couple in Taichung.", languages=[],
              skills_preferred=["cooking"], education_min=None, age_max=45,
              certificates_required=[], positions=5,
              salary={"amount": 20000, "currency": "TWD", "period": "month"}, program=None)
# V-0099's agency (the first revoked one) and deadline are filled in by the generator.
FIXED_VACANCIES = {"V-0042": _V0042, "V-0099": _V0099}

FIXED_WORKERS = {
    "W-000123": {
        "id": "W-000123", "name": "Siti Rahma", "nik": "3508014404990002",
        "birth_date": "1999-04-04", "gender": "F", "region": "35.08", "education": "SMK",
        "skills": ["menjahit", "tata boga", "merawat lansia"],
        "languages": [{"language": "ja", "test": "JLPT", "level": "N4"},
                      {"language": "en", "test": "CEFR", "level": "A2"}],
        "trainings": [{"program_id": "T-07", "title": "Caregiver dasar",
                       "provider": "LPK Mitra Lumajang", "hours": 200, "completed": "2025-06-30",
                       "skills": ["perawatan lansia"]}],
        "experience": [{"occupation": "penjahit", "years": 2, "country": "ID"}],
        "certificates": ["SSW kaigo skills test"],
        "documents": {"passport": True, "medical": True, "police_clearance": False, "bpjs": True,
                      "family_consent": True},
        "preferences": {"countries": ["JP", "TW"], "domestic": True, "sectors": ["care"]},
        "available": True},
    "W-000200": {
        "id": "W-000200", "name": "Yosina Kambu", "nik": "9271014101900003",
        "birth_date": "1990-01-01", "gender": "F", "region": "92.71", "education": "SMA",
        "skills": ["memasak", "mengasuh anak", "kasir"],
        "languages": [{"language": "en", "test": "CEFR", "level": "A2"}], "trainings": [],
        "experience": [{"occupation": "kasir", "years": 3, "country": "ID"}], "certificates": [],
        "documents": {"passport": False, "bpjs": True},
        "preferences": {"countries": [], "domestic": True, "sectors": ["hospitality"]},
        "available": True},
}
FIXED_TRAININGS = {
    "T-07": {"id": "T-07", "title": "Caregiver dasar", "provider": "LPK Mitra Lumajang",
             "region": "35.08", "skills": ["perawatan lansia"], "languages": [], "hours": 200,
             "duration_weeks": 5, "cost_idr": 3500000, "seats": 25, "next_start": "2027-01-10"},
    "T-08": {"id": "T-08", "title": "Bahasa Jepang N4", "provider": "LPK Mitra Lumajang",
             "region": "35.08", "skills": [], "languages": [_JA("N4")], "hours": 480,
             "duration_weeks": 12, "cost_idr": 0, "seats": 30, "next_start": "2027-01-10"},
}
