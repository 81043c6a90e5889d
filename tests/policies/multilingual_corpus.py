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
    # The languages below also have a national id column (a Faker method, the entity it is) and the date formats
    # their speakers write (3. 9. 1956, 1994. 07. 23., 23.07.1994.).
    "cs": dict(faker="cs_CZ", names=dict(first="jmeno", last="PRIJMENI", full="cele_jmeno", email="email",
               phone="telefon", mobile_digits="mobil", dob="datum_narozeni", street="ulice", city="mesto",
               postcode="psc", iban="cislo_uctu_iban", religion="vyznani", health="zdravotni_stav",
               notes="poznamka", profile="profil_json", sparse="email_2"),
               religions=["římskokatolická", "evangelická", "pravoslavná", "bez vyznání", "muslim",
                          "židovská"],
               health=["cukrovka", "astma", "vysoký krevní tlak", "deprese", "epilepsie", "migréna"],
               note="Zákazník prosí o zavolání na {phone} nebo o e-mail na {email} zítra.",
               plain="Zásilka dorazila včas, vše bylo v pořádku a dobře zabalené, děkujeme.",
               national_id=("rodne_cislo", "birth_number", "CZ_BIRTH_NUMBER"),
               dob_formats=["%d.%m.%Y", "{d}. {m}. %Y"]),
    "sk": dict(faker="sk_SK", names=dict(first="meno", last="PRIEZVISKO", full="cele_meno", email="emailova_adresa",
               phone="telefonne_cislo", mobile_digits="mobil", dob="datum_narodenia", street="ulica", city="mesto",
               postcode="psc", iban="iban", religion="nabozenstvo", health="diagnoza", notes="poznamka",
               profile="profil", sparse="email_2"),
               religions=["rímskokatolícka", "evanjelická", "gréckokatolícka", "pravoslávna", "bez vyznania",
                          "moslim"],
               health=["cukrovka", "astma", "vysoký krvný tlak", "depresia", "epilepsia", "migréna"],
               note="Zákazník žiada zavolať na {phone} alebo poslať e-mail na {email} zajtra.",
               plain="Balík prišiel načas, všetko bolo v poriadku a dobre zabalené, ďakujeme.",
               national_id=("rodne_cislo", "birth_number", "CZ_BIRTH_NUMBER"),
               dob_formats=["%d.%m.%Y", "{d}. {m}. %Y"]),
    "hu": dict(faker="hu_HU", names=dict(first="keresztnev", last="VEZETEKNEV", full="ugyfel_nev", email="email_cim",
               phone="telefonszam", mobile_digits="mobil", dob="szuletesi_datum", street="lakcim", city="varos",
               postcode="iranyitoszam", iban="bankszamlaszam", religion="vallas", health="betegsegek",
               notes="megjegyzes", profile="profil_json", sparse="email_2"),
               religions=["római katolikus", "református", "evangélikus", "görögkatolikus", "zsidó", "ateista"],
               health=["cukorbetegség", "asztma", "magas vérnyomás", "depresszió", "epilepszia", "migrén"],
               note="Az ügyfél kéri, hogy hívják vissza a {phone} számon vagy írjanak a {email} címre.",
               plain="A csomag időben megérkezett, minden rendben volt és jól be volt csomagolva.",
               national_id=("szemelyi_szam", "ssn", "NATIONAL_ID"),
               dob_formats=["%Y. %m. %d.", "%Y.%m.%d.", "%Y-%m-%d"]),
    "fi": dict(faker="fi_FI", names=dict(first="etunimi", last="SUKUNIMI", full="asiakkaan_nimi", email="sahkoposti",
               phone="puhelinnumero", mobile_digits="matkapuhelin", dob="syntymaaika", street="katuosoite",
               city="postitoimipaikka", postcode="postinumero", iban="tilinumero", religion="uskontokunta",
               health="sairaudet", notes="lisatiedot", profile="profiili", sparse="sahkoposti_2"),
               religions=["evankelis-luterilainen", "ortodoksinen", "katolinen", "uskonnoton", "muslimi",
                          "juutalainen"],
               health=["diabetes", "astma", "verenpainetauti", "masennus", "epilepsia", "migreeni"],
               note="Asiakas pyytää soittoa numeroon {phone} tai sähköpostia osoitteeseen {email} huomenna.",
               plain="Paketti saapui ajallaan ja kaikki oli kunnossa, kiitos nopeasta toimituksesta.",
               national_id=("henkilotunnus", "ssn", "FI_PERSONAL_IDENTITY_CODE"),
               dob_formats=["%d.%m.%Y", "{d}.{m}.%Y"]),
    "et": dict(faker="et_EE", names=dict(first="eesnimi", last="PEREKONNANIMI", full="kliendi_nimi", email="e_post",
               phone="telefon", mobile_digits="mobiil", dob="sunniaeg", street="aadress", city="linn",
               postcode="postiindeks", iban="arveldusarve", religion="usutunnistus", health="diagnoos",
               notes="markused", profile="profiil", sparse="e_post_2"),
               religions=["luterlane", "õigeusklik", "katoliiklane", "usuleige", "moslem", "budist"],
               health=["diabeet", "astma", "kõrge vererõhk", "depressioon", "epilepsia", "migreen"],
               note="Klient palub helistada numbrile {phone} või kirjutada aadressile {email} homme.",
               plain="Pakk jõudis kohale õigel ajal ja kõik oli korras, aitäh kiire teenuse eest.",
               national_id=("isikukood", "ssn", "EE_LT_PERSONAL_CODE"),
               phones=["+372 5### ####", "5### ####", "6## ####"],  # Faker has no Estonian numbers
               dob_formats=["%d.%m.%Y", "{d}.{m}.%Y"]),
    "hr": dict(faker="hr_HR", names=dict(first="ime", last="PREZIME", full="ime_i_prezime", email="email",
               phone="broj_telefona", mobile_digits="mobitel", dob="datum_rodenja", street="adresa", city="grad",
               postcode="postanski_broj", iban="iban", religion="vjeroispovijest", health="bolesti",
               notes="napomena", profile="profil", sparse="email_2"),
               religions=["rimokatolička", "pravoslavna", "islamska", "židovska", "ateist", "bez vjeroispovijesti"],
               health=["dijabetes", "astma", "visoki krvni tlak", "depresija", "epilepsija", "migrena"],
               note="Kupac moli da ga nazovete na {phone} ili pošaljete e-mail na {email} sutra.",
               plain="Paket je stigao na vrijeme, sve je bilo u redu i dobro zapakirano, hvala.",
               national_id=("oib", "ssn", "HR_OIB"),
               dob_formats=["%d.%m.%Y.", "{d}. {m}. %Y."]),
    # Greek: column names in Greek letters, some in Latin ones; names, streets and months in Greek letters.
    "el": dict(faker="el_GR", names=dict(first="όνομα", last="ΕΠΩΝΥΜΟ", full="ονοματεπώνυμο_πελάτη", email="email",
               phone="τηλέφωνο", mobile_digits="kinito", dob="ημερομηνία_γέννησης", street="διεύθυνση", city="πόλη",
               postcode="ταχυδρομικός_κώδικας", iban="iban", religion="θρήσκευμα", health="ιατρικό_ιστορικό",
               notes="σχόλια", profile="προφίλ", sparse="email_2"),
               religions=["Ορθόδοξος", "Ορθόδοξη", "Καθολικός", "Μουσουλμάνος", "Άθεος", "Προτεστάντης"],
               health=["Διαβήτης", "Άσθμα", "Υπέρταση", "Κατάθλιψη", "Επιληψία", "Ημικρανία"],
               note="Ο πελάτης ζητά να τον καλέσετε στο {phone} ή να στείλετε email στο {email} αύριο.",
               plain="Το δέμα έφτασε έγκαιρα, όλα ήταν εντάξει και καλά συσκευασμένα, ευχαριστούμε.",
               national_id=("amka", "ssn", "GR_AMKA"),
               dob_formats=["%d/%m/%Y", "{d}/{m}/%Y", "%d-%m-%Y"]),
}
IBAN_LENGTHS = {"de": ("DE", 22), "fr": ("FR", 27), "es": ("ES", 24), "it": ("IT", 27), "nl": ("NL", 18),
                "pl": ("PL", 28), "pt": ("PT", 25), "sv": ("SE", 24), "da": ("DK", 18), "cs": ("CZ", 24),
                "sk": ("SK", 24), "hu": ("HU", 28), "fi": ("FI", 18), "et": ("EE", 20), "hr": ("HR", 21),
                "el": ("GR", 27)}
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
        return fake.numerify(rng.choice(spec["phones"])) if "phones" in spec else fake.phone_number()

    def birth_date_text() -> str:  # {d} and {m}: day and month without a leading zero (3. 9. 1956)
        when = birth_date()
        return when.strftime(rng.choice(spec.get("dob_formats", ["%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d"]))) \
            .format(d=when.day, m=when.month)

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
        col(names["dob"], birth_date_text, {"DATE_OF_BIRTH"}),
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
        *([col(spec["national_id"][0], getattr(fake, spec["national_id"][1]), {spec["national_id"][2]})]
          if "national_id" in spec else []),
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
