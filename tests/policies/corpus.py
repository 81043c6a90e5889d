"""A labelled corpus of columns for the classifier: realistic personal data and look-alikes.

Generated (Faker, fixed seed) rather than stored, so nothing personal-looking is committed.
Each column carries the set of entity types a correct classifier reports for it.
"""

from __future__ import annotations

import hashlib
import random
import uuid

from faker import Faker

ROWS = 200


def luhn_digit(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        d = int(char)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def bsn(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        rest = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
        if rest < 10 and digits[0] != 0:
            return "".join(map(str, digits)) + str(rest)


def nir(rng: random.Random) -> str:
    body = f"{rng.randint(1, 2)}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}" \
           f"{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    return body + f"{97 - int(body) % 97:02d}"


def be_vat(rng: random.Random) -> str:
    first = rng.randint(1000000, 9999999)
    body = f"0{first}"
    return f"BE{body}{97 - int(body) % 97:02d}"


def card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "52", "53", "54", "55"])
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(15 - len(prefix)))
    return body + luhn_digit(body)


HEALTH = ["Type 2 diabetes", "Asthma", "Hypertension", "Depression", "Epilepsy", "Hepatitis B", "Pregnancy"]


def build(seed: int = 7) -> list[tuple[str, list[str], set[str]]]:
    """(column name, values, expected entity types) for every column of the corpus."""
    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL"])
    fake.seed_instance(seed)
    rng = random.Random(seed)
    n = range(ROWS)

    def col(name, make, expected=()):
        return name, [make() for _ in n], set(expected)

    return [
        # personal data
        col("email", fake.email, {"EMAIL_ADDRESS"}),
        col("customerEmail", fake.free_email, {"EMAIL_ADDRESS"}),
        col("contact_e_mail", fake.company_email, {"EMAIL_ADDRESS"}),
        col("phone", fake.phone_number, {"PHONE_NUMBER"}),
        col("mobile_number", lambda: fake["de_DE"].phone_number(), {"PHONE_NUMBER"}),
        col("tel", lambda: fake["fr_FR"].phone_number(), {"PHONE_NUMBER"}),
        col("full_name", fake.name, {"PERSON"}),
        col("customer_name", lambda: f"{fake.first_name()} {fake.last_name()}", {"PERSON"}),
        col("first_name", fake.first_name, {"PERSON"}),
        col("surname", fake.last_name, {"PERSON"}),
        col("iban", fake.iban, {"IBAN_CODE"}),
        col("payout_account", lambda: fake["de_DE"].iban(), {"IBAN_CODE"}),
        col("card_number", lambda: card(rng), {"CREDIT_CARD"}),
        col("cc", fake.credit_card_number, {"CREDIT_CARD"}),
        col("ip_address", fake.ipv4, {"IP_ADDRESS"}),
        col("client_ip", fake.ipv6, {"IP_ADDRESS"}),
        col("mac", fake.mac_address, {"MAC_ADDRESS"}),
        col("date_of_birth", lambda: fake.date_of_birth().isoformat(), {"DATE_OF_BIRTH"}),
        col("dob", lambda: fake.date_of_birth().strftime("%d/%m/%Y"), {"DATE_OF_BIRTH"}),
        col("ssn", lambda: fake["en_US"].ssn(), {"US_SSN"}),
        col("bsn", lambda: bsn(rng), {"NL_BSN"}),
        col("nir", lambda: nir(rng), {"FR_NIR"}),
        col("vat_number", lambda: be_vat(rng), {"EU_VAT_NUMBER"}),
        col("notes", lambda: f"{fake.sentence()} Reach me at {fake.email()} please.", {"EMAIL_ADDRESS"}),
        col("support_ticket", lambda: f"Customer {fake.sentence(nb_words=6)} mobile phone {fake['en_GB'].phone_number()}"
            if rng.random() < 0.5 else fake.sentence(nb_words=10), {"PHONE_NUMBER"}),
        col("home_address", lambda: fake.street_address(), {"LOCATION"}),
        col("city", fake.city, {"LOCATION"}),
        col("religion", lambda: rng.choice(["Catholic", "Protestant", "Muslim", "Jewish", "Hindu", "Atheist"]),
            {"RELIGION"}),
        col("diagnosis", lambda: rng.choice(HEALTH), {"HEALTH"}),
        col("clinical_notes", lambda: f"Patient {fake.sentence(nb_words=5)} {rng.choice(['diagnosed with', 'history of'])}"
            f" {rng.choice(['diabetes', 'asthma', 'hypertension', 'depression'])}.", {"HEALTH"}),
        col("ethnicity", lambda: rng.choice(["A", "B", "C", "D"]), {"ETHNICITY"}),
        # look-alikes: none of these is personal data
        col("order_ref", lambda: f"SCN-{rng.randint(100, 9_999_999_999)}"),
        col("tracking_number", lambda: f"1Z{rng.randint(100, 999)}AA1{rng.randint(10**9, 10**10 - 1)}"),
        col("email_verified", lambda: rng.choice(["0", "1"])),
        col("is_email_opt_in", lambda: rng.choice(["true", "false"])),
        col("phone_confirmed", lambda: rng.choice(["Y", "N"])),
        col("discount_code", lambda: rng.choice(["SUMMER-2024", "4417", "WELCOME10", "X9Z", "0831"])),
        col("country_code", lambda: rng.choice(["DE", "FR", "NL", "GB", "US"])),
        col("cvv_code_length", lambda: rng.choice(["3", "4"])),
        col("page_views", lambda: str(rng.randint(0, 100_000))),
        col("usage", lambda: f"{rng.random() * 100:.2f}"),
        col("stage", lambda: rng.choice(["draft", "review", "published"])),
        col("message_id", lambda: str(uuid.UUID(int=rng.getrandbits(128)))),
        col("product_name", fake.catch_phrase),
        col("company_name", fake.company),
        col("order_date", lambda: fake.date_this_decade().isoformat()),
        col("created_at", lambda: fake.date_time_this_year().isoformat()),
        col("amount", lambda: f"{rng.random() * 500:.2f}"),
        col("sku", lambda: f"SKU-{rng.randint(10**7, 10**8 - 1)}"),
        col("invoice_number", lambda: f"INV-2024-{rng.randint(0, 999999):06d}"),
        col("email_hash", lambda: hashlib.sha256(fake.email().encode()).hexdigest()),
        col("version", lambda: f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 50)}"),
        col("description", lambda: fake.sentence(nb_words=12)),
        col("customer_id", lambda: str(rng.randint(10**8, 10**10))),
        col("city_id", lambda: str(rng.randint(1, 40))),
    ]


# The look-alikes named in the issue: each must give no finding at all.
FALSE_POSITIVE_CASES = ["order_ref", "tracking_number", "email_verified", "is_email_opt_in", "phone_confirmed",
                        "discount_code", "cvv_code_length", "page_views", "usage", "stage", "customer_id", "city_id"]
