"""National ids with a birth date and a check digit, found in cells and columns.

Valid numbers come from Faker's providers and from the examples their registries publish, not
from the recognizers' own code."""

import random

import pytest
from faker import Faker

from policies.classify import classify_column
from policies.national_ids import (
    BgEgnRecognizer,
    CzBirthNumberRecognizer,
    EeLtPersonalCodeRecognizer,
    GrAmkaRecognizer,
    HrOibRecognizer,
    RoCnpRecognizer,
    SiEmsoRecognizer,
)
from policies.recognizers import LANGUAGE

PUBLISHED = {  # examples printed in the registries' and python-stdnum's documentation
    EeLtPersonalCodeRecognizer: ["36805280109", "33309240064"],  # Estonian, Lithuanian
    SiEmsoRecognizer: ["0101006500006"],
    BgEgnRecognizer: ["7523169263", "7552010005"],
    HrOibRecognizer: ["33392005961"],
}
FAKER = [(CzBirthNumberRecognizer, "cs_CZ", "birth_number"), (CzBirthNumberRecognizer, "sk_SK", "birth_number"),
         (RoCnpRecognizer, "ro_RO", "ssn"), (EeLtPersonalCodeRecognizer, "et_EE", "ssn"),
         (GrAmkaRecognizer, "el_GR", "ssn"), (HrOibRecognizer, "hr_HR", "ssn")]
LENGTH = {CzBirthNumberRecognizer: 10, RoCnpRecognizer: 13, EeLtPersonalCodeRecognizer: 11, SiEmsoRecognizer: 13,
          BgEgnRecognizer: 10, GrAmkaRecognizer: 11, HrOibRecognizer: 11}


def found(recognizer, value: str) -> bool:
    return any(r.end - r.start == len(value) for r in recognizer.analyze(value, recognizer.supported_entities))


@pytest.mark.parametrize("cls, locale, method", FAKER)
def test_generated_numbers_are_found(cls, locale, method):
    fake = Faker(locale)
    fake.seed_instance(3)
    values = [getattr(fake, method)() for _ in range(300)]
    recognizer = cls(supported_language=LANGUAGE)
    # Faker's Czech and Slovak generator writes a day 31 into 30-day months now and then: those are refused.
    assert sum(found(recognizer, v) for v in values) >= 0.97 * len(values)


@pytest.mark.parametrize("cls, values", PUBLISHED.items())
def test_published_examples_are_found_and_a_changed_digit_is_not(cls, values):
    recognizer = cls(supported_language=LANGUAGE)
    for value in values:
        assert found(recognizer, value), value
        wrong = value[:-1] + str((int(value[-1]) + 1) % 10)
        assert not found(recognizer, wrong), wrong


@pytest.mark.parametrize("cls", LENGTH)
def test_random_numbers_of_the_same_length_rarely_pass(cls):
    rng, recognizer, n = random.Random(7), cls(supported_language=LANGUAGE), LENGTH[cls]
    values = [str(rng.randrange(10 ** (n - 1), 10 ** n)) for _ in range(5000)]
    share = sum(found(recognizer, v) for v in values) / len(values)
    assert share < (0.12 if cls is HrOibRecognizer else 0.02), share


def test_columns_of_national_ids_and_of_look_alike_numbers():
    fake = Faker("ro_RO")
    fake.seed_instance(1)
    cnps = [fake.ssn() for _ in range(100)]
    assert [f.entity for f in classify_column("cnp", cnps).findings] == ["RO_CNP"]
    assert [f.entity for f in classify_column("col_4", cnps).findings] == ["RO_CNP"]  # date and check digit
    fake = Faker("el_GR")
    fake.seed_instance(1)
    amkas = [fake.ssn() for _ in range(100)]
    assert [f.entity for f in classify_column("ΑΜΚΑ", amkas).findings] == ["GR_AMKA"]
    assert [f.entity for f in classify_column("col_5", amkas).findings] == ["GR_AMKA"]  # date and Luhn check
    assert classify_column("col_5", [a[:-1] + str((int(a[-1]) + 1) % 10) for a in amkas]).findings == []
    oibs = [Faker("hr_HR").ssn() for _ in range(100)]
    assert [f.entity for f in classify_column("oib", oibs).findings] == ["HR_OIB"]
    rng = random.Random(2)
    numbers = [str(rng.randrange(10 ** 10, 10 ** 11)) for _ in range(100)]
    assert classify_column("customer_number", numbers).findings == []  # 1 in 10 passes OIB's check alone
    # A Hungarian personal number has no check here: the column's name says what it holds.
    [finding] = classify_column("szemelyi_szam", numbers).findings
    assert (finding.entity, finding.evidence) == ("NATIONAL_ID", "name")
