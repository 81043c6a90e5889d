"""A labelled multilingual corpus: a web shop's customer table per language, with look-alikes.

The values come from mimesis (names, streets, cities, emails, dates, companies, weekday
names) and Faker (phone numbers), and from lists written here (health conditions, religions);
the classifier's own gazetteer is Faker's *name* lists and its phone check is libphonenumber,
so the corpus does not grade the detector on its own data. Column names are written per
language the way shop databases name them: compounds, abbreviations, upper case, accents, and
some with no hint at all. Each column carries the entity types a correct classifier reports.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import date, timedelta

from faker import Faker
from mimesis import Address, Datetime, Finance, Locale, Person

ROWS = 200

# Per language: the Faker locale for phones, column names (personal data), Art. 9 values and words for free text.
LANGUAGES = {
    "de": dict(faker="de_DE", names=dict(first="Vorname", last="NACHNAME", full="Kundenname", email="E-Mail-Adresse",
               phone="Telefonnummer", mobile_digits="Handy", dob="Geburtsdatum", street="Straße_Hausnr",
               city="Wohnort", postcode="PLZ", iban="Kontonummer_IBAN", religion="Konfession",
               health="Vorerkrankungen", notes="Bemerkung", profile="profil_json", sparse="Zweit_Email"),
               religions=["römisch-katholisch", "evangelisch", "muslimisch", "jüdisch", "konfessionslos", "orthodox"],
               health=["Diabetes Typ 2", "Asthma", "Bluthochdruck", "Depression", "Epilepsie", "Migräne"],
               note="Kunde bittet um Rückruf unter {phone}, sonst per Mail an {email}.",
               plain="Lieferung kam pünktlich an, Verpackung war in Ordnung und vollständig."),
    "fr": dict(faker="fr_FR", names=dict(first="prénom", last="nom_de_famille", full="NomComplet", email="courriel",
               phone="téléphone", mobile_digits="tel_portable", dob="date_de_naissance", street="adresse",
               city="ville", postcode="code_postal", iban="iban_client", religion="religion",
               health="antécédents_médicaux", notes="commentaire", profile="donnees_profil",
               sparse="email_secondaire"),
               religions=["catholique", "protestante", "musulman", "juive", "bouddhiste", "athée"],
               health=["diabète", "asthme", "hypertension", "dépression", "épilepsie", "sclérose en plaques"],
               note="Le client demande à être rappelé au {phone} ou par courriel {email} demain.",
               plain="Colis livré en retard mais le produit correspond bien à la description."),
    "es": dict(faker="es_ES", names=dict(first="nombre", last="apellidos", full="nombre_completo",
               email="correo_electronico", phone="teléfono", mobile_digits="movil", dob="fecha_nacimiento",
               street="direccion", city="ciudad", postcode="codigo_postal", iban="cuenta_iban", religion="religión",
               health="enfermedad", notes="observaciones", profile="perfil", sparse="correo_alternativo"),
               religions=["católica", "musulmán", "judío", "evangélico", "ateo", "budista"],
               health=["diabetes", "asma", "hipertensión", "depresión", "epilepsia", "migraña"],
               note="El cliente pide que le llamen al {phone} o que escriban a {email} por favor.",
               plain="El pedido llegó completo y en buen estado, muy contentos con el servicio."),
    "it": dict(faker="it_IT", names=dict(first="nome", last="cognome", full="nominativo", email="email",
               phone="telefono", mobile_digits="cellulare", dob="data_di_nascita", street="indirizzo",
               city="citta", postcode="codice_postale", iban="iban", religion="religione",
               health="patologie", notes="note_cliente", profile="profilo_json", sparse="email_pec"),
               religions=["cattolica", "musulmano", "ebreo", "ortodossa", "ateo", "buddista"],
               health=["diabete", "asma", "ipertensione", "depressione", "epilessia", "emicrania"],
               note="Il cliente chiede di essere richiamato al numero {phone} oppure via email {email}.",
               plain="Consegna puntuale, imballaggio integro e prodotto conforme alla descrizione."),
    "nl": dict(faker="nl_NL", names=dict(first="voornaam", last="achternaam", full="klantnaam", email="emailadres",
               phone="telefoonnummer", mobile_digits="mobiel", dob="geboortedatum", street="straat_huisnummer",
               city="woonplaats", postcode="postcode", iban="rekeningnummer", religion="geloofsovertuiging",
               health="aandoening", notes="opmerkingen", profile="profiel", sparse="tweede_email"),
               religions=["rooms-katholiek", "protestants", "moslim", "joods", "atheïst", "hindoe"],
               health=["diabetes", "astma", "hoge bloeddruk", "depressie", "epilepsie", "migraine"],
               note="Klant wil teruggebeld worden op {phone} of een mail ontvangen op {email} graag.",
               plain="Pakket is netjes en op tijd bezorgd, alles was compleet en onbeschadigd."),
    "pl": dict(faker="pl_PL", names=dict(first="imię", last="nazwisko", full="imie_i_nazwisko", email="adres_email",
               phone="numer_telefonu", mobile_digits="telefon_komorkowy", dob="data_urodzenia", street="ulica",
               city="miasto", postcode="kod_pocztowy", iban="numer_rachunku", religion="wyznanie",
               health="choroby", notes="uwagi", profile="profil", sparse="email_dodatkowy"),
               religions=["katolik", "prawosławny", "ewangelik", "muzułmanin", "ateista", "buddysta"],
               health=["cukrzyca", "astma", "nadciśnienie", "depresja", "padaczka", "migrena"],
               note="Klient prosi o kontakt pod numerem {phone} albo mailowo na {email} jutro.",
               plain="Przesyłka dotarła szybko, wszystko zgodne z opisem i dobrze zapakowane."),
    "pt": dict(faker="pt_PT", names=dict(first="primeiro_nome", last="apelido", full="nome_completo", email="email",
               phone="telefone", mobile_digits="telemovel", dob="data_de_nascimento", street="morada",
               city="localidade", postcode="codigo_postal", iban="iban", religion="religião",
               health="doenças", notes="observacoes", profile="perfil_json", sparse="email_alternativo"),
               religions=["católica", "muçulmano", "judeu", "evangélico", "ateu", "budista"],
               health=["diabetes", "asma", "hipertensão", "depressão", "epilepsia", "enxaqueca"],
               note="O cliente pede para ligar para o {phone} ou enviar email para {email} amanhã.",
               plain="A encomenda chegou dentro do prazo e em perfeitas condições, obrigado."),
    "sv": dict(faker="sv_SE", names=dict(first="förnamn", last="efternamn", full="kundnamn", email="epostadress",
               phone="telefonnummer", mobile_digits="mobilnummer", dob="födelsedatum", street="gatuadress",
               city="postort", postcode="postnummer", iban="iban", religion="trosuppfattning",
               health="diagnos", notes="kommentar", profile="profil", sparse="epost_2"),
               religions=["katolik", "protestant", "muslim", "judisk", "ateist", "buddhist"],
               health=["diabetes", "astma", "högt blodtryck", "depression", "epilepsi", "migrän"],
               note="Kunden vill bli uppringd på {phone} eller få ett mejl till {email} i morgon.",
               plain="Paketet kom fram i tid och allt var helt och väl förpackat, tack så mycket."),
    "da": dict(faker="da_DK", names=dict(first="fornavn", last="efternavn", full="kundenavn", email="email",
               phone="telefonnummer", mobile_digits="mobil", dob="fødselsdato", street="adresse",
               city="by", postcode="postnummer", iban="iban", religion="trosretning",
               health="sygdomme", notes="bemærkninger", profile="profil", sparse="email_2"),
               religions=["folkekirken", "katolik", "muslim", "jødisk", "ateist", "buddhist"],
               health=["diabetes", "astma", "forhøjet blodtryk", "depression", "epilepsi", "migræne"],
               note="Kunden ønsker at blive ringet op på {phone} eller få en mail på {email} i morgen.",
               plain="Pakken kom til tiden og alt var i orden, god service og hurtig levering."),
}
IBAN_LENGTHS = {"de": ("DE", 22), "fr": ("FR", 27), "es": ("ES", 24), "it": ("IT", 27), "nl": ("NL", 18),
                "pl": ("PL", 28), "pt": ("PT", 25), "sv": ("SE", 24), "da": ("DK", 18)}
BROWSERS = ["Firefox", "Chrome", "Safari", "Edge", "Opera", "Brave", "Vivaldi"]


def iban(rng: random.Random, language: str) -> str:
    country, length = IBAN_LENGTHS[language]
    letters = {"nl": 4, "it": 1}.get(language, 0)  # a Dutch bank code, an Italian CIN
    bban = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(letters)) + \
        "".join(str(rng.randint(0, 9)) for _ in range(length - 4 - letters))
    numeric = int("".join(c if c.isdigit() else str(ord(c) - 55) for c in bban + country) + "00")
    return f"{country}{98 - numeric % 97:02d}{bban}"


def luhn_complete(body: str) -> str:
    for last in "0123456789":
        digits = [int(c) for c in body + last][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return body + last
    raise AssertionError


def build(language: str, seed: int = 5) -> list[tuple[str, list[str | None], set[str]]]:
    """(column name, values, expected entity types) of one language's table."""
    spec = LANGUAGES[language]
    names = spec["names"]
    rng = random.Random(f"{language}-{seed}")
    locale = Locale(language)
    person, address, when, finance = (cls(locale, seed=seed) for cls in (Person, Address, Datetime, Finance))
    fake = Faker(spec["faker"])
    fake.seed_instance(seed)
    n = range(ROWS)

    def birth_date() -> date:
        return date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 65))

    def textual() -> str:  # 3 janvier 2001, 3 Januar 2001: month names from mimesis's locale data
        return f"{rng.randint(1, 28)} {when.month()} {birth_date().year}"

    def phone() -> str:
        return fake.phone_number()

    def col(name, make, expected=()):
        return name, [make() for _ in n], set(expected)

    full = [person.full_name() for _ in n]
    emails = [person.email() for _ in n]
    columns = [
        col(names["first"], person.first_name, {"PERSON"}),
        col(names["last"], lambda: person.last_name().upper(), {"PERSON"}),
        (names["full"], full, {"PERSON"}),
        ("kontakt_1" if language == "de" else "col_17", [f.lower() if rng.random() < 0.3 else f for f in full],
         {"PERSON"}),  # no name hint
        (names["email"], emails, {"EMAIL_ADDRESS"}),
        ("feld_a" if language == "de" else "field_a",
         [e.rsplit(".", 1)[0] + rng.choice([".local", ".internal", ".none", ".lan"]) for e in emails],
         {"EMAIL_ADDRESS"}),  # non-public suffixes, no hint
        col(names["phone"], phone, {"PHONE_NUMBER"}),
        col(names["mobile_digits"], lambda: "".join(c for c in phone() if c.isdigit()).lstrip("0"),
            {"PHONE_NUMBER"}),  # a numeric column: the leading zero is gone
        col(names["dob"], lambda: birth_date().strftime(rng.choice(["%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d"])),
            {"DATE_OF_BIRTH"}),
        col("geb_text" if language == "de" else "birth_text", textual, {"DATE_OF_BIRTH"}),
        col(names["street"], address.address, {"LOCATION"}),
        col(names["city"], address.city, {"LOCATION"}),
        col(names["postcode"], address.postal_code, {"LOCATION"}),
        col(names["iban"], lambda: iban(rng, language), {"IBAN_CODE"}),
        col(names["religion"], lambda: rng.choice(spec["religions"]), {"RELIGION"}),
        col(names["health"], lambda: rng.choice(spec["health"]), {"HEALTH"}),
        col("segment_b", lambda: rng.choice(spec["religions"]).upper(),
            {"RELIGION"}),  # Art. 9 values with no hint
        col(names["notes"], lambda: spec["note"].format(phone=phone(), email=person.email())
            if rng.random() < 0.4 else spec["plain"], {"PHONE_NUMBER", "EMAIL_ADDRESS"}),
        col(names["profile"], lambda: json.dumps({"email": person.email(), names["first"]: person.first_name(),
                                                  "tags": [rng.randint(1, 9)], "newsletter": True},
                                                 ensure_ascii=False), {"EMAIL_ADDRESS", "PERSON"}),
        col(names["sparse"], lambda: person.email() if rng.random() < 0.08 else None, {"EMAIL_ADDRESS"}),
        # look-alikes: none of these is personal data
        col("created_epoch", lambda: str(rng.randint(1_500_000_000, 1_800_000_000))),
        col("updated_ms", lambda: str(rng.randint(1_500_000_000_000, 1_800_000_000_000))),
        col("created_at", lambda: when.datetime(start=2022, end=2025).isoformat()),
        col("order_date", lambda: (date(2023, 1, 1) + timedelta(days=rng.randint(0, 700))).strftime("%d.%m.%Y")),
        col("session_guid", lambda: str(uuid.UUID(int=rng.getrandbits(128)))),
        col("app_version", lambda: f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"),
        col("newsletter", lambda: rng.choice(["Y", "N"])),
        col("is_active", lambda: rng.choice(["0", "1"])),
        col("browser", lambda: rng.choice(BROWSERS)),
        col("weekday", lambda: when.day_of_week()),
        col("company", finance.company),
        col("product", lambda: f"{finance.company()} {rng.choice(['Pro', 'Max', 'Lite', 'Plus'])} "
                               f"{rng.randint(2, 12)}"),
        col("password_hash", lambda: hashlib.sha256(str(rng.random()).encode()).hexdigest()),
        col("order_no", lambda: f"ORD-{rng.randint(2019, 2025)}-{rng.randint(0, 999999):06d}"),
        col("siret" if language == "fr" else "registry_no",
            lambda: luhn_complete(str(rng.randint(10**12, 10**13 - 1)))),
        col("kvk" if language == "nl" else "chamber_no", lambda: str(rng.randint(10_000_000, 99_999_999))),
        col("customer_id", lambda: str(rng.randint(10**6, 10**9))),
        col("items", lambda: str(rng.randint(1, 40))),
        col("capacity_l", lambda: f"{rng.randint(1, 500)},{rng.randint(0, 99):02d}"),
        col("price", lambda: f"{rng.randint(1, 2000)}.{rng.randint(0, 99):02d}"),
    ]
    return columns


def lookalikes(columns) -> list[str]:
    return [name for name, _, expected in columns if not expected]
