"""What a single value is, by its shape: the checks that need no model and no name hint.

Each function looks at one cell. The classifier counts the cells a check accepts and decides
per column, so a check may be generous on one cell (``Paris`` may be a surname) as long as a
column of look-alikes does not pass it as a whole.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date

import phonenumbers

from policies.vocabulary import Vocabulary, fold

# Any suffix counts (.local, .internal, .none): an address is personal wherever it is routed.
EMAIL = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}$")
EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,63}\b")
MAC = re.compile(r"^(?:[0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_PHONE_SHAPE = re.compile(r"^\+?[\d\s().\-/]{6,24}$")
PHONE_IN_TEXT = re.compile(r"(?<![\w.,])\+?\(?\d[\d\s().\-/]{6,20}\d(?!\w|[.,]\d)")
_DATE_IN_TEXT = re.compile(r"\d{4}(?:-\d{1,2}-|\.\s?\d{1,2}\.\s?)\d{1,2}|\d{1,2}[./]\s?\d{1,2}[./]\s?\d{2,4}")
# 23.07.1994, 1994-07-23, 07/23/1994, and with the spaces and closing dot some languages write:
# 3. 9. 1956 (cs, sk), 1994. 07. 23. and 1994.07.23. (hu), 23.07.1994. (hr, lv), 23 07 1994.
_NUMERIC_DATE = re.compile(r"^(\d{1,4})\s*([./-]|\s)\s*(\d{1,2})\s*\2\s*(\d{1,4})\.?$")
_TIME_SUFFIX = re.compile(r"[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:z|utc|[+-]\d{2}:?\d{2})?$", re.I)
_WORD_DATE_DMY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|er|e|o)?\.?[\s/-]+(?:de\s+)?([a-z]+)\.?,?[\s/-]+"
                            r"(?:de\s+)?(\d{4})\.?$")
_WORD_DATE_YMD = re.compile(r"^(\d{4})\.?\s+([a-z]+)\.?\s+(\d{1,2})\.?$")  # 1994. július 23. (hu)
_YEAR_MARK = re.compile(r"^(.*\d{4})\.?\s+([^\W\d_]{1,5})\.?$")  # 23.07.1994 r.
# The year and its mark first, then the day and the month either way round: 1994 m. liepos 23 d. (lt, "d." marks the
# day), 1994. gada 23. jūlijs (lv).
_WORD_DATE_MARKED_YEAR = re.compile(r"^(\d{4})\.?\s+([a-z]+)\.?\s+"
                                    r"(?:(\d{1,2})\.?\s+([a-z]+)|([a-z]+)\s+(\d{1,2})(?:\s+d)?)\.?$")
_WORD_DATE_MDY = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_NAME_TOKEN = re.compile(r"^[^\W\d_](?:[^\W\d_]|['’.\-])*$")
_CONNECTORS = {"and", "und", "et", "y", "e", "en", "i", "och", "og", "&", "+", "oder", "ou", "or", "o"}
_PARTICLE_MAX = 4  # lower-case words this short may sit inside a name (van der, de la, dos)

EPOCH_SECONDS = (946_684_800, 2_524_608_000)  # 2000-01-01 .. 2050-01-01
_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")
_HASH = re.compile(r"^(?:0x)?(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|"
                   r"[0-9a-fA-F]{128})$")  # MD5, SHA-1, SHA-2: an IBAN can be all hex too, never these lengths
_VERSION = re.compile(r"^(?:v\d{1,4}\.\d{1,4}|\d{1,4}\.\d{1,4}\.\d{1,6})(?:[-+~][\w.]+)?$")  # 1.2.3, v2.1; not 1.5


def is_email(value: str) -> bool:
    return EMAIL.match(value) is not None


def is_ip(value: str) -> bool:
    if not (":" in value or value.count(".") == 3):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_mac(value: str) -> bool:
    return MAC.match(value) is not None


def parse_date(value: str, vocabulary: Vocabulary) -> tuple[date, bool] | None:
    """The calendar date a cell names, in the national formats (23.07.1994, 3 janvier 2001,
    1994-07-23, 07/23/1994), and whether a time of day follows it."""
    text = value.strip()
    stripped = _TIME_SUFFIX.sub("", text)
    has_time = stripped != text
    text = stripped.strip()
    mark = _YEAR_MARK.match(text)
    if mark and fold(mark.group(2)) in vocabulary.year_marks:
        text = mark.group(1)
    match = _NUMERIC_DATE.match(text)
    if match:
        a, _, b, c = match.groups()
        if len(a) == 4:
            y, m, d = int(a), int(b), int(c)
        elif len(c) == 4:
            y, m, d = int(c), int(b), int(a)
            if m > 12 >= d:  # month first: 07/23/1994
                m, d = d, m
        else:
            return None
        return _date(y, m, d, has_time)
    folded = fold(text)
    match = _WORD_DATE_DMY.match(folded)
    if match:
        d, month, y = match.groups()
        return _date(int(y), vocabulary.months.get(month), int(d), has_time)
    match = _WORD_DATE_MDY.match(folded)
    if match:
        month, d, y = match.groups()
        return _date(int(y), vocabulary.months.get(month), int(d), has_time)
    match = _WORD_DATE_YMD.match(folded)
    if match:
        y, month, d = match.groups()
        return _date(int(y), vocabulary.months.get(month), int(d), has_time)
    match = _WORD_DATE_MARKED_YEAR.match(folded)
    if match and match.group(2) in vocabulary.year_marks:
        y, _, day, month, month_first, day_after = match.groups()
        return _date(int(y), vocabulary.months.get(month or month_first), int(day or day_after), has_time)
    return None


def _date(y: int, m: int | None, d: int, has_time: bool) -> tuple[date, bool] | None:
    if m is None or not 1800 <= y <= 2200:
        return None
    try:
        return date(y, m, d), has_time
    except ValueError:
        return None


# Where phone numbers without a country code are tried when nothing in the data says more:
# the EU/EEA, the UK, Switzerland and the US.
DEFAULT_PHONE_REGIONS = ("DE", "FR", "IT", "ES", "NL", "BE", "AT", "PL", "PT", "SE", "DK", "FI", "IE", "LU", "CZ",
                         "SK", "SI", "HR", "HU", "RO", "BG", "GR", "EE", "LV", "LT", "CY", "MT", "NO", "IS", "CH",
                         "GB", "US")
MAX_NATIONAL_DIGITS = 13  # with the trunk zero; longer national numbers are registry or serial numbers
_DECIMAL = re.compile(r"^\d+[.,]\d+$")  # 17.260773 is a number
# 1.234.567 is a number; 034 213 125 is not (no number starts with 0), but a phone number with its trunk zero.
_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(?:([.,' ])\d{3})(?:\1\d{3})*$")


def _phone_check(text: str, region: str | None) -> int:
    """2 for a valid number of the region, 1 for one of a possible length, 0 otherwise."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return 0
    if phonenumbers.is_valid_number(number):
        return 2
    return 1 if phonenumbers.is_possible_number(number) else 0


def phone_region(value: str, regions: tuple[str, ...], hinted: bool) -> tuple[str, bool] | None:
    """The region a cell is a phone number of, and whether libphonenumber calls it valid (not
    only of a possible length), or None.

    International numbers (+49..., 0049...) need no region. National ones are tried in
    ``regions``: a formatted number (spaces, dashes, brackets) or one with its trunk zero
    anywhere, a bare digit string only in a column whose name says phone. There, a number
    that lost its leading zero in a numeric column (301234567 for 0301234567) counts too.
    Generated and test numbers are often of a possible length but not in an allocated
    range, so those count too, at a lower score; thousands (1.234.567) and decimals never do.
    """
    if not _PHONE_SHAPE.match(value) or ((_THOUSANDS.match(value) or _DECIMAL.match(value)) and not hinted):
        return None
    digits = re.sub(r"\D", "", value)
    international = value.startswith("+") or value.startswith("00")
    if not 6 <= len(digits) <= (15 if international else MAX_NATIONAL_DIGITS):
        return None
    if international:
        international = value if value.startswith("+") else "+" + digits[2:]
        try:
            number = phonenumbers.parse(international, None)
        except phonenumbers.NumberParseException:
            return None
        region = phonenumbers.region_code_for_number(number) or "international"
        if phonenumbers.is_valid_number(number):
            return region, True
        return (region, False) if phonenumbers.is_possible_number(number) else None
    if _is_isbn(digits):
        return None
    candidates = []
    if not value.isdigit() or digits[0] == "0" or hinted:
        candidates.append(value)
    if hinted and value.isdigit() and digits[0] != "0":
        candidates.append("0" + value)
    # A possible length is enough only with a trunk zero or the column's word: grouped digits
    # without either (a SIRET as 123 456 789 00012) must be an allocated number.
    lenient = hinted or digits[0] == "0"
    possible = None
    for text in candidates:
        for region in regions:
            check = _phone_check(text, region)
            if check == 2:
                return region, True
            if check and lenient and possible is None:
                possible = region
    return (possible, False) if possible else None


def _is_isbn(digits: str) -> bool:
    return len(digits) == 13 and digits[:3] in ("978", "979") and \
        sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def phone_spans(text: str, regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS) -> list[tuple[int, int]]:
    """Where a free text holds phone numbers: 8 digits or more, not a date, and valid, or
    written with + or a trunk zero (version numbers such as Chrome/13.0.895.0 are neither)."""
    spans = []
    for match in PHONE_IN_TEXT.finditer(text):
        candidate = match.group().strip()
        if sum(c.isdigit() for c in candidate) < 8 or _DATE_IN_TEXT.search(candidate):
            continue
        phone = phone_region(candidate, regions, False)
        if phone and (phone[1] or candidate[0] in "+0"):
            start = match.start() + match.group().index(candidate)
            spans.append((start, start + len(candidate)))
    return spans


def name_words(value: str) -> list[str] | None:
    """The folded words of a cell shaped like a person's name in any case (ANNA MÜLLER, de la
    Cruz, O'Neil, Müller-Lüdenscheidt, "Müller, Hans"), or None."""
    words = value.replace(",", " ").split()
    if not 1 <= len(words) <= 5 or len(value) > 60:
        return None
    out: list[str] = []
    for word in words:
        if word.lower() in _CONNECTORS or not _NAME_TOKEN.match(word):
            return None
        out.extend(p for p in re.split(r"[-'’.]", fold(word)) if p)
    if all(len(w) <= _PARTICLE_MAX and w.islower() for w in words):
        return None  # only short lower-case words: not a name
    return out


def has_phrase(words: list[str], phrases) -> bool:
    joined = f" {' '.join(words)} "
    return any(f" {phrase} " in joined for phrase in phrases)


def is_street_address(value: str, vocabulary: Vocabulary) -> bool:
    """A street with a house number in any of the tables' languages (Hauptstraße 12, 3 rue de la
    Paix, ul. Długa 5, Kerkstraat 3a)."""
    if not any(c.isdigit() for c in value) or len(value) > 80 or "@" in value:
        return False
    words = re.findall(r"[a-z]+", fold(value))
    if not words or sum(c.isdigit() for c in value) > 6:
        return False
    for word in words:
        if word in vocabulary.street_words:
            return True
        if len(word) > 5 and any(len(s) >= 3 and word.endswith(s) for s in vocabulary.street_suffixes):
            return True
    return False


def _dated(value: str) -> bool:
    """Shaped like a date with a 4-digit year (23.07.1994), not like a version (1.2.3)."""
    match = _NUMERIC_DATE.match(value)
    return bool(match) and (len(match.group(1)) == 4 or len(match.group(4)) == 4)


def lookalike(values: list[str]) -> str | None:
    """A note when nine in ten values have a shape that is never personal data on its own."""
    if not values:
        return None

    def share(test) -> float:
        return sum(1 for v in values if test(v)) / len(values)

    def epoch(v: str, scale: int) -> bool:
        return v.isdigit() and EPOCH_SECONDS[0] * scale <= int(v) <= EPOCH_SECONDS[1] * scale

    checks = (
        ("epoch timestamps (seconds)", lambda v: len(v) == 10 and epoch(v, 1)),
        ("epoch timestamps (milliseconds)", lambda v: len(v) == 13 and epoch(v, 1000)),
        ("GUIDs", lambda v: _GUID.match(v) is not None),
        ("hashes", lambda v: _HASH.match(v) is not None and not v.isdigit()),
        ("version strings", lambda v: _VERSION.match(v) is not None and not _dated(v)),
    )
    for note, test in checks:
        if share(test) >= 0.9:
            return note
    return None
