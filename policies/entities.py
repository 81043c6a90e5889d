"""What the classifier can find, and what GDPR calls it.

Every entity type maps to one GDPR category. Art. 9 special categories are kept apart
(``special=True``): processing them needs an Art. 9(2) condition on top of an Art. 6 basis.
Column names are compared as whole tokens (``customer_email`` -> ``customer``, ``email``),
never as substrings, so ``page_views`` is not an age and ``zip_code`` not a card code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str
    category: str
    special: bool = False
    # Column-name tokens (or token pairs joined by a space) that point at this entity.
    context: tuple[str, ...] = ()


ENTITIES = {e.name: e for e in (
    Entity("EMAIL_ADDRESS", "contact", context=("email", "mail", "e mail")),
    Entity("PHONE_NUMBER", "contact", context=("phone", "telephone", "tel", "mobile", "cell", "fax", "msisdn")),
    Entity("PERSON", "identity", context=("name", "fullname", "firstname", "lastname", "surname", "forename",
                                          "first name", "last name", "given name", "family name", "full name")),
    Entity("DATE_OF_BIRTH", "identity", context=("dob", "birth", "birthday", "birthdate", "date of birth")),
    Entity("LOCATION", "location", context=("address", "street", "city", "town", "postcode", "zip", "zipcode",
                                            "postal", "geo", "latitude", "longitude", "residence")),
    Entity("IP_ADDRESS", "online_identifier", context=("ip", "ipv4", "ipv6", "ip address")),
    Entity("MAC_ADDRESS", "online_identifier", context=("mac",)),
    Entity("IBAN_CODE", "financial", context=("iban", "account", "bank")),
    Entity("CREDIT_CARD", "financial", context=("card", "credit", "pan", "cc")),
    Entity("EU_VAT_NUMBER", "financial", context=("vat", "tva", "ust", "btw", "iva")),
    Entity("US_SSN", "national_identifier", context=("ssn", "social security")),
    Entity("UK_NHS", "national_identifier", context=("nhs",)),
    Entity("UK_NINO", "national_identifier", context=("nino", "national insurance")),
    Entity("DE_TAX_ID", "national_identifier", context=("steuerid", "idnr", "tax id")),
    Entity("ES_NIF", "national_identifier", context=("nif", "dni")),
    Entity("ES_NIE", "national_identifier", context=("nie",)),
    Entity("IT_FISCAL_CODE", "national_identifier", context=("codice fiscale", "fiscal")),
    Entity("PL_PESEL", "national_identifier", context=("pesel",)),
    Entity("FI_PERSONAL_IDENTITY_CODE", "national_identifier", context=("hetu", "henkilotunnus")),
    Entity("SE_PERSONNUMMER", "national_identifier", context=("personnummer",)),
    Entity("NL_BSN", "national_identifier", context=("bsn", "burgerservicenummer")),
    Entity("FR_NIR", "national_identifier", context=("nir", "insee", "secu")),
    Entity("US_PASSPORT", "national_identifier", context=("passport",)),
    # Art. 9 special categories: found from column names, and from values where they have a shape.
    Entity("HEALTH", "health", special=True,
           context=("diagnosis", "diagnoses", "icd", "icd10", "condition", "disease", "medication", "prescription",
                    "allergy", "allergies", "disability", "treatment", "symptom", "symptoms", "health",
                    "medical", "blood type", "pregnancy")),
    Entity("GENETIC", "genetic", special=True, context=("genetic", "genome", "genotype", "dna", "snp")),
    Entity("BIOMETRIC", "biometric", special=True,
           context=("biometric", "fingerprint", "faceprint", "retina", "iris scan", "voiceprint", "face embedding")),
    Entity("RELIGION", "religious_belief", special=True, context=("religion", "religious", "faith", "denomination")),
    Entity("ETHNICITY", "racial_or_ethnic_origin", special=True, context=("ethnicity", "ethnic", "race")),
    Entity("POLITICAL_OPINION", "political_opinion", special=True,
           context=("political", "party affiliation", "voting preference")),
    Entity("TRADE_UNION", "trade_union_membership", special=True, context=("union membership", "trade union")),
    Entity("SEX_LIFE", "sex_life_or_orientation", special=True, context=("sexual orientation", "sexuality")),
)}

SPECIAL_ENTITIES = tuple(name for name, e in ENTITIES.items() if e.special)

# Presidio results we do not report: they are not personal data on their own, or they are a
# part of something else (a URL inside an email, a date that is not a birth date).
IGNORED_PRESIDIO = {"URL", "DATE_TIME", "UUID", "CRYPTO", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "US_ITIN",
                    "MEDICAL_LICENSE", "NRP"}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


def name_tokens(column: str) -> list[str]:
    """``customerEmail_2`` -> ['customer', 'email', '2']: the words of a column name, lowercased."""
    return [t for t in _SPLIT.split(_CAMEL.sub(" ", column).lower()) if t]


def name_phrases(tokens: list[str]) -> set[str]:
    """Single tokens, adjacent pairs and triples, joined by spaces: 'date of birth' matches a column 'date_of_birth'."""
    out = set(tokens)
    for size in (2, 3):
        out.update(" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1))
    return out


def context_entities(column: str) -> set[str]:
    """Entities whose context words appear in the column name as whole tokens or phrases."""
    phrases = name_phrases(name_tokens(column))
    return {name for name, entity in ENTITIES.items() if phrases & set(entity.context)}
