"""What the classifier can find, and what GDPR calls it.

Every entity type maps to one GDPR category. Art. 9 special categories are kept apart
(``special=True``): processing them needs an Art. 9(2) condition on top of an Art. 6 basis.
The words that point at each entity type, in every language, are in policies/languages/.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    name: str
    category: str
    special: bool = False


ENTITIES = {e.name: e for e in (
    Entity("EMAIL_ADDRESS", "contact"),
    Entity("PHONE_NUMBER", "contact"),
    Entity("PERSON", "identity"),
    Entity("DATE_OF_BIRTH", "identity"),
    Entity("LOCATION", "location"),
    Entity("IP_ADDRESS", "online_identifier"),
    Entity("MAC_ADDRESS", "online_identifier"),
    Entity("IBAN_CODE", "financial"),
    Entity("CREDIT_CARD", "financial"),
    Entity("EU_VAT_NUMBER", "financial"),
    Entity("US_SSN", "national_identifier"),
    Entity("UK_NHS", "national_identifier"),
    Entity("UK_NINO", "national_identifier"),
    Entity("DE_TAX_ID", "national_identifier"),
    Entity("ES_NIF", "national_identifier"),
    Entity("ES_NIE", "national_identifier"),
    Entity("IT_FISCAL_CODE", "national_identifier"),
    Entity("PL_PESEL", "national_identifier"),
    Entity("FI_PERSONAL_IDENTITY_CODE", "national_identifier"),
    Entity("SE_PERSONNUMMER", "national_identifier"),
    Entity("NL_BSN", "national_identifier"),
    Entity("FR_NIR", "national_identifier"),
    Entity("CZ_BIRTH_NUMBER", "national_identifier"),  # Czech and Slovak rodné číslo
    Entity("RO_CNP", "national_identifier"),
    Entity("EE_LT_PERSONAL_CODE", "national_identifier"),  # Estonian isikukood, Lithuanian asmens kodas
    Entity("SI_EMSO", "national_identifier"),
    Entity("BG_EGN", "national_identifier"),
    Entity("GR_AMKA", "national_identifier"),  # Greek social security number
    Entity("HR_OIB", "national_identifier"),
    Entity("NATIONAL_ID", "national_identifier"),  # named by a column (személyi szám, personas kods), no value check
    Entity("US_PASSPORT", "national_identifier"),
    # Art. 9 special categories: found from column names, and from values where they have a shape.
    Entity("HEALTH", "health", special=True),
    Entity("GENETIC", "genetic", special=True),
    Entity("BIOMETRIC", "biometric", special=True),
    Entity("RELIGION", "religious_belief", special=True),
    Entity("ETHNICITY", "racial_or_ethnic_origin", special=True),
    Entity("POLITICAL_OPINION", "political_opinion", special=True),
    Entity("TRADE_UNION", "trade_union_membership", special=True),
    Entity("SEX_LIFE", "sex_life_or_orientation", special=True),
)}

SPECIAL_ENTITIES = tuple(name for name, e in ENTITIES.items() if e.special)

# Presidio results we do not report: they are not personal data on their own, or they are a
# part of something else (a URL inside an email, a date that is not a birth date).
IGNORED_PRESIDIO = {"URL", "DATE_TIME", "UUID", "CRYPTO", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "US_ITIN",
                    "MEDICAL_LICENSE", "NRP"}
