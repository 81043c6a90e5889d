"""The single-cell checks: dates, phone numbers, names, streets and look-alike shapes."""

from datetime import date

import pytest

from policies.values import is_email, is_street_address, lookalike, name_words, parse_date, phone_region, \
    phone_spans
from policies.vocabulary import vocabulary

EU = ("DE", "FR", "NL", "ES", "PL", "DK")


@pytest.mark.parametrize("text, expected", [
    ("23.07.1994", (date(1994, 7, 23), False)), ("23/07/1994", (date(1994, 7, 23), False)),
    ("07/23/1994", (date(1994, 7, 23), False)), ("1994-07-23", (date(1994, 7, 23), False)),
    ("3 janvier 2001", (date(2001, 1, 3), False)), ("3. Januar 2001", (date(2001, 1, 3), False)),
    ("3 de enero de 2001", (date(2001, 1, 3), False)), ("12 października 1980", (date(1980, 10, 12), False)),
    ("January 3, 2001", (date(2001, 1, 3), False)), ("2024-05-01T10:00:00Z", (date(2024, 5, 1), True)),
    # spaces after the separators, a closing dot, a year first, a word after the year
    ("3. 9. 1956", (date(1956, 9, 3), False)), ("1994. 07. 23.", (date(1994, 7, 23), False)),
    ("1994.07.23.", (date(1994, 7, 23), False)), ("23.07.1994.", (date(1994, 7, 23), False)),
    ("23 07 1994", (date(1994, 7, 23), False)), ("1994. július 23.", (date(1994, 7, 23), False)),
    ("23. srpnja 1994.", (date(1994, 7, 23), False)), ("2. huhtikuuta 1982", (date(1982, 4, 2), False)),
    ("3 martie 2001", (date(2001, 3, 3), False)), ("23.07.1994 r.", (date(1994, 7, 23), False)),
    ("12 października 1980 r.", (date(1980, 10, 12), False)),
    # Greek and Bulgarian months, and the year with its mark first (lt, lv)
    ("23 Ιουλίου 1994", (date(1994, 7, 23), False)), ("20 януари 1952 г.", (date(1952, 1, 20), False)),
    ("1994 m. liepos 23 d.", (date(1994, 7, 23), False)), ("1994. gada 3. decembris", (date(1994, 12, 3), False)),
    ("31.02.1990", None), ("1.2.3", None), ("3 blah 2001", None), ("23.07.1994 xyz", None), ("745 90", None),
    ("1994 xyz liepos 23 d.", None), ("2001 m. vasario 29 d.", None),
])
def test_dates_in_national_formats(text, expected):
    assert parse_date(text, vocabulary()) == expected


@pytest.mark.parametrize("value, hinted, found", [
    ("+49 30 12345678", False, True), ("0049 30 12345678", False, True), ("030 12345678", False, True),
    ("06-12345678", False, True), ("01 23 45 67 89", False, True), ("612 34 56 78", False, True),
    ("0612345678", False, True),
    ("3012345678", False, False), ("3012345678", True, True),  # a numeric column lost the zero: only with a hint
    ("1.234.567", False, False), ("17.260773", False, False), ("978-3-16-148410-0", False, False),
    ("123 456 789 00012", False, False),  # a SIRET, grouped
])
def test_phone_numbers(value, hinted, found):
    assert (phone_region(value, EU, hinted) is not None) == found


def test_digits_grouped_in_threes_after_a_trunk_zero_are_a_phone_not_thousands():
    assert phone_region("034 213 125", ("HR",), False) == ("HR", True)
    assert phone_region("234 213 125", ("HR",), False) is None  # 234,213,125


def test_phones_in_prose_but_not_versions_or_dates():
    assert len(phone_spans("Bitte um Rückruf unter 030 12345678, danke. Oder +33 1 23 45 67 89.")) == 2
    assert phone_spans("Mozilla/5.0 (X11) Gecko/2024-02-01 01:11:17.260773 Chrome/113.0.5672.126") == []
    assert phone_spans("Született 1994. 07. 23., Budapest; rendelés 2023.11.05. óta") == []
    assert len(phone_spans("Nazovite na 034 213 125 sutra.", ("HR",))) == 1


def test_emails_on_any_suffix_and_names_in_any_case():
    assert all(is_email(e) for e in ["a@b.local", "zoé@firma.internal", "x.y+z@host.none"])
    assert not any(is_email(e) for e in ["a@b", "@b.de", "a b@c.de"])
    assert name_words("ANNA MÜLLER-LÜDENSCHEIDT") == ["anna", "muller", "ludenscheidt"]
    assert name_words("Müller, Hans") == ["muller", "hans"]
    assert name_words("Aurélie de la Fontaine") == ["aurelie", "de", "la", "fontaine"]
    assert name_words("Schmidt & Partner") is None and name_words("Model 3") is None


def test_street_addresses_in_the_tables_languages():
    vocab = vocabulary()
    for address in ["Hauptstraße 12", "3 rue de la Paix", "ul. Długa 5", "Kerkstraat 3a", "Calle Mayor, 5",
                    "Via Roma 10", "Storgatan 4", "Nørregade 7"]:
        assert is_street_address(address, vocab), address
    assert not is_street_address("Ergonomic Steel Chair 5", vocab)


@pytest.mark.parametrize("values, note", [
    (["1700000000", "1712345678", "1650000000"] * 4, "epoch timestamps (seconds)"),
    (["1700000000123", "1712345678000"] * 5, "epoch timestamps (milliseconds)"),
    (["6f1c3b9e-2c1d-4d3e-9f00-1a2b3c4d5e6f"] * 10, "GUIDs"),
    (["d41d8cd98f00b204e9800998ecf8427e"] * 10, "hashes"),
    (["1.2.3", "v2.1", "10.4.12-rc1"] * 4, "version strings"),
    (["DE89370400440532013000", "1.5", "23.07.1994"] * 4, None),
])
def test_lookalike_shapes(values, note):
    assert lookalike(values) == note
