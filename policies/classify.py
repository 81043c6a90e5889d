"""Column classification: which columns of a sample hold personal data, and why we think so.

Each column's distinct non-empty values are looked at one by one, cheapest check first: shape
checks of their own (emails on any suffix, IP and MAC addresses, dates in national formats,
phone numbers in national formats through libphonenumber, street addresses, Art. 9 terms of
every language table) and Presidio's checksum recognizers for cards, accounts and national
ids, called only on cells with enough digits to hold one. A column gets a finding for an
entity type when enough of its cells match; the finding carries its evidence (recognizer,
score, matched and sampled counts, the JSON path inside a cell), never a value.

The rules that keep known false positives out:

* a match in a short, structured cell counts only when it covers the cell (``SCN-1253456789``
  is an id, not a phone number with a prefix); free-text cells may match anywhere;
* 0/1, true/false, Y/N columns are flags, whatever their name (``email_verified``); epoch
  timestamps, GUIDs, hashes and version strings are what they look like;
* column names are compared by whole words in any table's language (``page_views`` holds no
  age), and a name alone never makes a column an email, phone, card or id: the values must
  match. Names alone suggest only what values cannot show: locations and Art. 9 categories,
  at a lower score;
* a date is personal only as a birth date: by the column's name, or by values that spread
  over decades of adults' birth years;
* PERSON: name-shaped values (any case, accents, particles, compound surnames) whose words are
  known first or last names of Europe (policies/gazetteer.py), in a column about people;
* a JSON cell is classified by its leaves, each with its key as the name; a key alone never
  decides (``{"email": "foo"}`` is no email).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache

from policies import national_ids
from policies import values as shapes
from policies.entities import ENTITIES
from policies.gazetteer import person_names
from policies.recognizers import LANGUAGE, build_analyzer, id_recognizers
from policies.sources import Sample
from policies.values import DEFAULT_PHONE_REGIONS
from policies.vocabulary import ColumnName, fold, marker_words, vocabulary

log = logging.getLogger(__name__)

MIN_SCORE = 0.5  # a recognizer's score, after the column name's boost
CONTEXT_BOOST = 0.35  # what a column name naming the entity adds to a recognizer's score (Presidio's factor)
MIN_CONTEXT_SCORE = 0.4  # Presidio's floor for a weak pattern its context words confirm
MIN_RATIO = 0.5  # share of a structured column's cells that must match
FREE_TEXT_RATIO = 0.01  # and of a free-text column's (at least two cells)
FREE_TEXT_TERMS_RATIO = 0.05  # for Art. 9 terms in free text
NAME_ONLY_SCORE = 0.6
ANCHOR = 0.85  # share of a structured cell a match must cover
MIN_ID_DIGITS = 6  # no card, account or national id has fewer
# Ids whose only sign, with no column word, is a checksum that one random number in 10 or 11 passes:
# a column is one when nine in ten of its cells pass.
CHECKSUM_ENTITIES = {"NL_BSN", *national_ids.CHECK_DIGIT_ONLY}
CHECKSUM_ONLY_SCORE = 0.55
CHECKSUM_ONLY_RATIO = 0.9
NER_SAMPLE = 200  # distinct values an NER model reads per column
PARALLEL_MIN_CELLS = 2000  # below this, starting worker processes costs more than it saves
MIN_DISTINCT_PEOPLE = 8  # a column of fewer distinct "names" with no name hint is a list of things

FLAG_VALUES = {"0", "1", "true", "false", "t", "f", "y", "n", "yes", "no", "0.0", "1.0", "j", "ja", "nein", "oui",
               "non", "si", "sí", "nee", "tak", "nie", "sim", "nao", "não", "nej"}
EMPTY_VALUES = {"null", "none", "nan", "n/a", "na", "-", "--", "nil", "(null)", "undefined"}
_SHORT_NUMBER = re.compile(r"^[+-]?\d{1,5}(?:[.,]\d+)?$")
_REFERENCE_WORDS = {"id", "ids", "key", "fk", "uuid"}  # city_id refers to a city
# Entities a column's name alone may report: those values rarely show (a city, an Art. 9 column of codes), and
# national ids with no value check (NATIONAL_ID).
_NAME_ONLY = {"LOCATION", "NATIONAL_ID"} | {name for name, e in ENTITIES.items() if e.special}
_TERM_ENTITIES = ("HEALTH", "RELIGION")


@dataclass
class Finding:
    entity: str
    category: str
    special: bool
    recognizer: str
    score: float
    matched: int
    sampled: int
    evidence: str  # "values", "values+name" or "name"
    json_path: str | None = None  # where inside a JSON column's cells ($.contact.email), comma-separated


@dataclass
class ColumnResult:
    column: str
    sampled: int
    findings: list[Finding] = field(default_factory=list)
    note: str | None = None


@dataclass
class ScanResult:
    source: str
    rows: int
    seconds: float
    model: str | None
    columns: list[ColumnResult]
    phone_regions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _finding(entity: str, recognizer: str, score: float, matched: int, sampled: int, evidence: str,
             json_path: str | None = None) -> Finding:
    spec = ENTITIES[entity]
    return Finding(entity, spec.category, spec.special, recognizer, round(min(score, 1.0), 3), matched, sampled,
                   evidence, json_path)


def _is_free_text(value: str) -> bool:
    """Prose: a long cell of many words, or a sentence (four words or more, ending like one), which a date written
    in words with the year's mark is not (23 lipca 1994 r., 20 януари 1952 г.)."""
    spaces = value.count(" ")
    return (len(value) > 40 and spaces >= 4) or (spaces >= 3 and value[-1] in ".!?…"
                                                 and shapes.parse_date(value, vocabulary()) is None)


@lru_cache(maxsize=1)
def _term_patterns() -> dict[str, re.Pattern]:
    return {entity: re.compile(vocabulary().terms_regex(entity)) for entity in _TERM_ENTITIES}


@lru_cache(maxsize=1)
def _ids():
    return id_recognizers()


def _terms(value: str) -> list[str]:
    folded = fold(value)
    return [entity for entity, pattern in _term_patterns().items() if pattern.search(folded)]


def _card_plausible(digits: str, hinted: bool) -> bool:
    # Card numbers in data are 16 digits (15 for Amex); other Luhn-valid lengths are mostly
    # registry numbers (a SIRET is 14 digits and passes Luhn), so they need the column's word.
    return hinted or len(digits) == 16 or (len(digits) == 15 and digits[:2] in ("34", "37"))


def _id_hits(value: str, name: ColumnName, free: bool) -> dict[str, tuple[float, str]]:
    hits: dict[str, tuple[float, str]] = {}
    for recognizer in _ids():
        for r in recognizer.analyze(value, recognizer.supported_entities):
            if not free and (r.end - r.start) < ANCHOR * len(value):
                continue
            entity = r.entity_type
            hinted = entity in name.entities
            if entity == "CREDIT_CARD" and not _card_plausible(re.sub(r"\D", "", value[r.start:r.end]), hinted):
                continue
            score = max(r.score + CONTEXT_BOOST, MIN_CONTEXT_SCORE) if hinted else r.score
            label = recognizer.name
            if score < MIN_SCORE and entity in CHECKSUM_ENTITIES:
                # A passed checksum with no column word: weak on one cell, strong on a whole column.
                score, label = CHECKSUM_ONLY_SCORE, f"{recognizer.name} (checksum only)"
            # Presidio's floor for a weak pattern its context words confirm (a passport number in a
            # column named Reisepass) is 0.4; without the column's word it takes MIN_SCORE.
            if score >= (MIN_CONTEXT_SCORE if hinted else MIN_SCORE) and score > hits.get(entity, (0, ""))[0]:
                hits[entity] = (score, label)
    return hits


@dataclass
class _Tally:
    """Cells (weighted by repeats) per entity, and what the column-level rules need."""

    matched: Counter = field(default_factory=Counter)
    score_sum: defaultdict = field(default_factory=lambda: defaultdict(float))
    recognizer: defaultdict = field(default_factory=lambda: defaultdict(Counter))
    overlapped: defaultdict = field(default_factory=lambda: defaultdict(Counter))
    dates: list = field(default_factory=list)  # (date, has time, weight)
    people: int = 0  # name-shaped cells with a known first or last name
    shaped: int = 0  # name-shaped cells
    companies: int = 0

    def add(self, hits: dict[str, tuple[float, str]], weight: int) -> None:
        for entity, (score, name) in hits.items():
            self.matched[entity] += weight
            self.score_sum[entity] += score * weight
            self.recognizer[entity][name] += weight
            for other in hits:
                if other != entity:
                    self.overlapped[entity][other] += weight


def _cell(value: str, name: ColumnName, regions: tuple[str, ...], tally: _Tally, weight: int,
          prose: bool) -> None:
    """Tally one distinct value; in a column of ``prose`` every cell is searched, not matched whole."""
    vocab = vocabulary()
    if prose:
        hits: dict[str, tuple[float, str]] = {}
        if shapes.EMAIL_IN_TEXT.search(value):
            hits["EMAIL_ADDRESS"] = (1.0, "EmailPattern")
        if shapes.phone_spans(value, regions):
            hits["PHONE_NUMBER"] = (0.75, "PhoneNumbers")
        if sum(c.isdigit() for c in value) >= MIN_ID_DIGITS:
            hits.update({e: h for e, h in _id_hits(value, name, True).items() if e in ("IBAN_CODE", "CREDIT_CARD")})
        hits.update({entity: (0.7, f"{entity.title()}Terms") for entity in _terms(value)})
        tally.add(hits, weight)
        return
    if shapes.is_email(value):
        return tally.add({"EMAIL_ADDRESS": (1.0, "EmailPattern")}, weight)
    if shapes.is_ip(value):
        return tally.add({"IP_ADDRESS": (0.95, "IpAddress")}, weight)
    if shapes.is_mac(value):
        return tally.add({"MAC_ADDRESS": (0.95, "MacAddress")}, weight)
    parsed = shapes.parse_date(value, vocab)
    if parsed:
        tally.dates.append((*parsed, weight))
        return
    hits = {}
    phone = shapes.phone_region(value, regions, "PHONE_NUMBER" in name.entities)
    if phone:
        _, valid = phone
        score = (0.85 if valid else 0.6) + (CONTEXT_BOOST if "PHONE_NUMBER" in name.entities else 0)
        hits["PHONE_NUMBER"] = (score, "PhoneNumbers")
    if sum(c.isdigit() for c in value) >= MIN_ID_DIGITS and len(value) <= 40:
        hits.update(_id_hits(value, name, False))
    if not hits:
        if shapes.is_street_address(value, vocab):
            hits["LOCATION"] = (0.7, "StreetAddress")
        hits.update({entity: (0.7, f"{entity.title()}Terms") for entity in _terms(value)})
    tally.add(hits, weight)
    words = shapes.name_words(value) if not hits else None
    if words:
        tally.shaped += weight
        if shapes.has_phrase(marker_words(value), vocab.company_markers):
            tally.companies += weight
        else:
            first, last = person_names()
            if any(w in first or w in last for w in words):
                tally.people += weight


def _birth_dates(tally: _Tally, sampled: int, hinted: bool, min_ratio: float) -> Finding | None:
    dated = sum(w for _, _, w in tally.dates)
    if not dated:
        return None
    if hinted:
        if dated / sampled >= min_ratio:
            return _finding("DATE_OF_BIRTH", "DateFormats+column name", 0.85, dated, sampled, "values+name")
        return None
    # No name hint: plain dates (no time) of people aged 14 to 110, spread over decades.
    this_year = date.today().year
    plain = [(d, w) for d, has_time, w in tally.dates if not has_time]
    adults = sum(w for d, w in plain if this_year - 110 <= d.year <= this_year - 14)
    years = {d.year for d, _ in plain}
    if dated / sampled >= 0.9 and adults >= 0.95 * dated and len(plain) >= 10 and max(years) - min(years) >= 20:
        return _finding("DATE_OF_BIRTH", "DateFormats+birth-year spread", 0.6, adults, sampled, "values")
    return None


def _people(tally: _Tally, sampled: int, distinct: int, name: ColumnName) -> Finding | None:
    """PERSON from name-shaped cells. A column named for one part of a name (Nachname, prénom)
    needs the shape only; one named for names in general (name, nominativo) needs some known
    names too, so a ``name`` column of product names stays clean; a column with no name hint
    needs many distinct values, most of them with a known first or last name."""
    if name.about_things or tally.companies > 0.05 * sampled:
        return None
    shaped, known = tally.shaped / sampled, tally.people / sampled
    if name.name_part and shaped >= 0.7:
        return _finding("PERSON", "NameShape+column name", 0.6 + 0.3 * shaped, tally.shaped, sampled, "values+name")
    if "PERSON" in name.entities and shaped >= 0.6 and known >= 0.2:
        return _finding("PERSON", "NameGazetteer+column name", 0.6 + 0.3 * shaped, tally.shaped, sampled,
                        "values+name")
    if "PERSON" not in name.entities and distinct >= MIN_DISTINCT_PEOPLE and shaped >= 0.8 and known >= 0.4:
        return _finding("PERSON", "NameGazetteer", 0.4 + 0.5 * known, tally.people, sampled, "values")
    return None


def _json_leaves(value, path: str = "$"):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _json_leaves(item, f"{path}[]")
    elif value is not None and not isinstance(value, bool):
        yield path, str(value)


def _parse_json(value: str):
    if value[:1] not in "{[":
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _classify_json(column: str, documents: list[tuple[object, int]], sampled: int,
                   context: ScanContext) -> ColumnResult:
    """Each JSON path of the (parsed document, weight) pairs becomes a column of its own, named
    by its last key; findings come back to the JSON column with their paths."""
    leaves: dict[str, list[str | None]] = defaultdict(list)
    for document, weight in documents:
        for path, leaf in _json_leaves(document):
            leaves[path].extend([leaf] * weight)
    merged: dict[str, Finding] = {}
    for path, leaf_values in sorted(leaves.items()):
        key = re.sub(r"\[\]", "", path.rsplit(".", 1)[-1]) or column
        for f in classify_column(key, leaf_values, context=context).findings:
            if f.evidence == "name":
                continue  # a key alone never decides
            kept = merged.get(f.entity)
            if kept is None:
                merged[f.entity] = _finding(f.entity, f.recognizer, f.score, f.matched, sampled, f.evidence, path)
            else:
                kept.json_path = f"{kept.json_path}, {path}"
                kept.matched = max(kept.matched, f.matched)
    findings = sorted(merged.values(), key=lambda f: (-f.score, f.entity))
    for f in findings:
        f.matched = min(f.matched, sampled)
    return ColumnResult(column, sampled, findings, note="JSON cells: classified by their leaves")


@dataclass(frozen=True)
class ScanContext:
    """What a column's classification needs to know about the rest of the scan."""

    regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS
    model: str | None = None
    min_ratio: float = MIN_RATIO


def classify_column(column: str, values: list[str | None], *, context: ScanContext = ScanContext()) -> ColumnResult:
    present = [v.strip() for v in values if v is not None and v.strip() and v.strip().lower() not in EMPTY_VALUES]
    if not present:
        return ColumnResult(column, 0, note="no values in the sample")
    counts = Counter(present)
    sampled = len(present)
    if {v.lower() for v in counts} <= FLAG_VALUES:
        return ColumnResult(column, sampled, note="flag column (0/1, true/false, Y/N)")
    documents = [(document, n) for document, n in ((_parse_json(v), n) for v, n in counts.items())
                 if document is not None]
    if sum(n for _, n in documents) >= 0.5 * sampled:
        return _classify_json(column, documents, sampled, context)
    note = shapes.lookalike(list(counts))
    if note:
        return ColumnResult(column, sampled, note=note)
    name = vocabulary().column(column)
    tally = _Tally()
    free_text = sum(n for v, n in counts.items() if _is_free_text(v)) >= sampled / 2
    for value, weight in counts.items():
        if not _SHORT_NUMBER.match(value):  # nothing personal fits in 5 digits
            _cell(value, name, context.regions, tally, weight, free_text)
    findings = []
    for entity, count in tally.matched.items():
        # Art. 9 words in prose need more than a few mentions: "Krebs" is also a surname and a crab.
        ratio = FREE_TEXT_TERMS_RATIO if entity in _TERM_ENTITIES else FREE_TEXT_RATIO
        enough = (count >= min(2, sampled) and count / sampled >= ratio) if free_text \
            else count / sampled >= context.min_ratio
        checksum_only = tally.recognizer[entity].most_common(1)[0][0].endswith("(checksum only)")
        if not enough or _outvoted(entity, tally, name) or (checksum_only and count / sampled < CHECKSUM_ONLY_RATIO):
            continue
        evidence = "values+name" if entity in name.entities else "values"
        findings.append(_finding(entity, tally.recognizer[entity].most_common(1)[0][0],
                                 tally.score_sum[entity] / count, count, sampled, evidence))
    found = {f.entity for f in findings}
    extra = [_birth_dates(tally, sampled, "DATE_OF_BIRTH" in name.entities, context.min_ratio)]
    if "PERSON" not in found and not free_text:
        extra.append(_people(tally, sampled, len(counts), name) or _ner_people(counts, name, context))
    findings += [f for f in extra if f and f.entity not in found]
    if not findings and set(name.words).isdisjoint(_REFERENCE_WORDS):
        for entity in sorted(name.entities & _NAME_ONLY):
            findings.append(_finding(entity, "column name", NAME_ONLY_SCORE, 0, sampled, "name"))
    findings.sort(key=lambda f: (-f.score, f.entity))
    return ColumnResult(column, sampled, findings)


def _outvoted(entity: str, tally: _Tally, name: ColumnName) -> bool:
    """True when another entity matched the same cells at least twice as often (a phone number that
    happens to pass the NHS checksum is a phone number), or as often where the column's name
    names the other one (an ``ssn`` column of 123-45-6789 holds no phone numbers)."""
    mine = tally.matched[entity]
    return any(count >= 0.8 * mine and (tally.matched[other] >= 2 * mine or
                                        (other in name.entities and entity not in name.entities))
               for other, count in tally.overlapped[entity].items())




def _ner_people(counts: Counter, name: ColumnName, context: ScanContext):
    """PERSON from an installed spaCy NER model, for name-shaped columns the gazetteer did not settle."""
    if not context.model or name.about_things:
        return None
    analyzer = build_analyzer(context.model)
    candidates = [v for v in counts if shapes.name_words(v)][:NER_SAMPLE]
    if len(candidates) < 0.6 * min(len(counts), NER_SAMPLE):
        return None
    people = sum(counts[v] for v in candidates
                 if any(r.entity_type == "PERSON" and r.score >= MIN_SCORE
                        for r in analyzer.analyze(v, language=LANGUAGE, entities=["PERSON"])))
    examined = sum(counts[v] for v in candidates)
    if people >= 0.6 * examined:
        evidence = "values+name" if "PERSON" in name.entities else "values"
        return _finding("PERSON", "SpacyRecognizer", 0.85, people, examined, evidence)  # of the cells it read
    return None


def _country_regions(sample: Sample) -> list[str]:
    """Regions named by the sample's country columns (ISO codes such as DE, FR)."""
    import phonenumbers

    found: Counter = Counter()
    for values in sample.columns.values():
        present = [v.strip().upper() for v in values if v and v.strip()]
        if present and sum(len(v) == 2 for v in present) >= 0.9 * len(present):
            known = [v for v in present if v in phonenumbers.SUPPORTED_REGIONS]
            if len(known) >= 0.9 * len(present):
                found.update(known)
    return [region for region, _ in found.most_common()]


def phone_regions(sample: Sample, default: tuple[str, ...] = DEFAULT_PHONE_REGIONS) -> tuple[str, ...]:
    """Where the sample's phone numbers without a country code are tried, in order: the regions
    its country columns name, then those of its column names' languages, then ``default``."""
    vocab = vocabulary()
    languages = Counter(lang for column in sample.columns for lang in vocab.column(column).languages)
    by_name = vocab.regions(lang for lang, _ in languages.most_common())
    return tuple(dict.fromkeys((*_country_regions(sample), *by_name, *default)))


def _classify_task(task: tuple[str, list, ScanContext]) -> ColumnResult:
    column, column_values, context = task
    return classify_column(column, column_values, context=context)


def classify_columns(tasks: list[tuple[str, list, ScanContext]], workers: int = 1):
    """ColumnResults of (column, values, context) tasks, in order, on ``workers`` processes.

    The vocabulary, gazetteer and recognizers are loaded before the workers fork, so they
    start warm."""
    cells = sum(len(values) for _, values, _ in tasks)
    if workers <= 1 or len(tasks) < 2 or cells < PARALLEL_MIN_CELLS:
        yield from map(_classify_task, tasks)
        return
    vocabulary(), person_names(), _ids(), _term_patterns()
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    except OSError as exc:  # no /dev/shm or no fork here: one process still gives the same answers
        log.warning("classifying on one process: cannot start workers (%s)", exc)
        yield from map(_classify_task, tasks)
        return
    with pool:
        yield from pool.map(_classify_task, tasks)


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def scan(sample: Sample, *, model: str | None = None, min_ratio: float = MIN_RATIO,
         default_regions: tuple[str, ...] = DEFAULT_PHONE_REGIONS, workers: int = 1,
         progress: Callable[[int], None] | None = None) -> ScanResult:
    """Classify every column of a sample; ``progress`` is called with 1 per column done."""
    if model:
        build_analyzer(model)  # a missing model is an error before any column
    started = time.perf_counter()
    context = ScanContext(phone_regions(sample, default_regions), model, min_ratio)
    columns = []
    for result in classify_columns([(name, values, context) for name, values in sample.columns.items()], workers):
        columns.append(result)
        if progress:
            progress(1)
    return ScanResult(sample.source, sample.rows, round(time.perf_counter() - started, 3), model, columns,
                      list(context.regions))
