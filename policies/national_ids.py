"""National identification numbers of EU countries Presidio has no recognizer for.

Each is a pattern and a validation. Where the number holds a birth date and a check digit
(Czech and Slovak birth numbers, the Romanian CNP, Estonian and Lithuanian personal codes, the
Slovenian EMŠO, the Bulgarian EGN, the Greek AMKA), a cell must pass both, which a random number of that length
does about once in a few hundred: it counts as found. The Croatian OIB has only a check digit,
which one random 11-digit number in ten passes: it keeps a low score, so a cell alone does not
decide, and a column decides only when most of its cells pass (as Dutch BSNs do).
"""

from __future__ import annotations

from datetime import date

from presidio_analyzer import Pattern, PatternRecognizer


def _digits(text: str) -> list[int]:
    return [int(c) for c in text if c.isdigit()]


def _number(digits: list[int]) -> int:
    """The number some digits spell: _number([0, 7]) is 7."""
    return int("".join(map(str, digits)))


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _weighted(digits: list[int], weights) -> int:
    return sum(d * w for d, w in zip(digits, weights))


def luhn(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (its last digit checks the others)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class _NationalId(PatternRecognizer):
    """A national id: ``pattern`` finds candidates, ``valid`` (digits -> bool | None) decides."""

    entity = ""
    pattern = ""
    score = 0.5
    context: tuple[str, ...] = ()

    def __init__(self, supported_language: str):
        super().__init__(self.entity, name=type(self).__name__, supported_language=supported_language,
                         patterns=[Pattern(self.entity, self.pattern, self.score)], context=list(self.context))

    def validate_result(self, pattern_text: str) -> bool | None:
        return self.valid(_digits(pattern_text))

    def valid(self, digits: list[int]) -> bool | None:
        raise NotImplementedError


class CzBirthNumberRecognizer(_NationalId):
    """Czech and Slovak birth number (rodné číslo): YYMMDD/NNNC, month +50 for women (+20 and +70
    since 2004), the 10 digits divisible by 11 (or the first 9 leaving 10, with a final 0). Numbers
    given before 1954 have 9 digits and no check digit: those count only with their slash."""

    entity = "CZ_BIRTH_NUMBER"
    pattern = r"\b\d{2}[0-35-8]\d[0-3]\d(?:/\d{3,4}|\d{4})\b"
    context = ("rodne", "cislo", "rc")

    def valid(self, digits: list[int]) -> bool:
        yy, month, day = _number(digits[0:2]), _number(digits[2:4]), _number(digits[4:6])
        month = month % 50 - 20 if month % 50 > 20 else month % 50
        if len(digits) == 9:
            return yy < 54 and _is_date(1900 + yy, month, day)
        number = _number(digits)
        checked = number % 11 == 0 or (number // 10 % 11 == 10 and digits[9] == 0)
        return checked and _is_date(1900 + yy if yy >= 54 else 2000 + yy, month, day)


class RoCnpRecognizer(_NationalId):
    """Romanian personal numeric code (CNP): S YYMMDD JJ NNN C, a check digit with weights 279146358279."""

    entity = "RO_CNP"
    pattern = r"\b[1-9]\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{6}\b"
    context = ("cnp",)

    def valid(self, digits: list[int]) -> bool:
        check = _weighted(digits, (2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9)) % 11
        century = {1: 1900, 2: 1900, 3: 1800, 4: 1800, 5: 2000, 6: 2000}.get(digits[0], 1900)
        county = _number(digits[7:9])
        return (1 if check == 10 else check) == digits[12] and (1 <= county <= 52 or county == 70) and \
            _is_date(century + _number(digits[1:3]), _number(digits[3:5]), _number(digits[5:7]))


class EeLtPersonalCodeRecognizer(_NationalId):
    """Estonian isikukood and Lithuanian asmens kodas: G YYMMDD SSS C (G: century and sex), a check
    digit from two rounds of weights."""

    entity = "EE_LT_PERSONAL_CODE"
    pattern = r"\b[1-6]\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{4}\b"
    context = ("isikukood", "asmens", "kodas")

    def valid(self, digits: list[int]) -> bool:
        check = _weighted(digits, (1, 2, 3, 4, 5, 6, 7, 8, 9, 1)) % 11
        if check == 10:
            check = _weighted(digits, (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)) % 11 % 10
        year = 1800 + 100 * ((digits[0] - 1) // 2) + _number(digits[1:3])
        return check == digits[10] and _is_date(year, _number(digits[3:5]), _number(digits[5:7]))


class SiEmsoRecognizer(_NationalId):
    """Slovenian EMŠO: DDMMYYY RR BBB K (RR 50-59 in Slovenia), a check digit with weights 765432."""

    entity = "SI_EMSO"
    pattern = r"\b(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])[09]\d{2}5\d{5}\b"
    context = ("emso",)

    def valid(self, digits: list[int]) -> bool:
        remainder = _weighted(digits, (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)) % 11
        check = 0 if remainder == 0 else 11 - remainder
        yyy = _number(digits[4:7])
        year = 1000 + yyy if yyy >= 800 else 2000 + yyy
        return check == digits[12] and _is_date(year, _number(digits[2:4]), _number(digits[0:2]))


class BgEgnRecognizer(_NationalId):
    """Bulgarian EGN: YYMMDD SSS C, month +20 before 1900 and +40 from 2000, weights 2 4 8 5 10 9 7 3 6."""

    entity = "BG_EGN"
    pattern = r"\b\d{2}(?:[024][1-9]|[135][0-2])(?:0[1-9]|[12]\d|3[01])\d{4}\b"
    context = ("egn",)

    def valid(self, digits: list[int]) -> bool:
        check = _weighted(digits, (2, 4, 8, 5, 10, 9, 7, 3, 6)) % 11 % 10
        month = _number(digits[2:4])
        century, month = (2000, month - 40) if month > 40 else (1800, month - 20) if month > 20 else (1900, month)
        return check == digits[9] and _is_date(century + _number(digits[0:2]), month, _number(digits[4:6]))


class GrAmkaRecognizer(_NationalId):
    """Greek social security number (AMKA): DDMMYY NNNN C, the 11 digits passing the Luhn check."""

    entity = "GR_AMKA"
    pattern = r"\b(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{7}\b"
    context = ("amka",)

    def valid(self, digits: list[int]) -> bool:
        day, month, yy = _number(digits[0:2]), _number(digits[2:4]), _number(digits[4:6])
        # The number does not say the century; 29 February must exist in one of the two.
        return luhn("".join(map(str, digits))) and (_is_date(1900 + yy, month, day) or _is_date(2000 + yy, month, day))


class HrOibRecognizer(_NationalId):
    """Croatian personal identification number (OIB): 11 digits, check digit by ISO 7064 MOD 11,10."""

    entity = "HR_OIB"
    pattern = r"\b\d{11}\b"
    score = 0.3
    context = ("oib",)

    def valid(self, digits: list[int]) -> bool | None:
        carry = 10
        for d in digits[:10]:
            carry = (carry + d) % 10 or 10
            carry = carry * 2 % 11
        check = (11 - carry) % 10
        # One random 11-digit number in ten passes: keep the low pattern score (the column's word raises it).
        return None if check == digits[10] and len(set(digits)) > 1 else False


RECOGNIZERS = (CzBirthNumberRecognizer, RoCnpRecognizer, EeLtPersonalCodeRecognizer, SiEmsoRecognizer,
               BgEgnRecognizer, GrAmkaRecognizer, HrOibRecognizer)
CHECK_DIGIT_ONLY = (HrOibRecognizer.entity,)
