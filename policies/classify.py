"""Column classification: which columns of a sample hold personal data, and why we think so.

Each column's distinct non-empty values go through Presidio's batch engine with the
column name's words as context. A column gets a finding for an entity type when enough of
its cells match; the finding carries its evidence (recognizer, score, matched and sampled
counts), never a value. The rules that keep known false positives out:

* a match in a short, structured cell counts only when it covers the cell (``SCN-1253456789``
  is an id, not a phone number with a prefix); free-text cells may match anywhere;
* 0/1, true/false columns are flags, whatever their name (``email_verified``);
* column names are compared by whole words (``page_views`` holds no age, ``discount_code``
  no card code), and a name alone never makes a column an email, phone, card or id: the
  values must match. Names alone suggest only what values cannot show without a trained
  model: locations and Art. 9 special categories, at a lower score;
* PERSON without an NER model (and where the model misses it): name-shaped values ("Anna van der Berg") in a column whose
  name says it holds names of people (``customer_name``, not ``product_name``).
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine

from policies.entities import ENTITIES, IGNORED_PRESIDIO, context_entities, name_phrases, name_tokens
from policies.recognizers import LANGUAGE, build_analyzer
from policies.sources import Sample

MIN_SCORE = 0.5  # Presidio's score after context enhancement
MIN_RATIO = 0.5  # share of a structured column's cells that must match
FREE_TEXT_RATIO = 0.01  # and of a free-text column's (at least two cells)
NAME_ONLY_SCORE = 0.6
ANCHOR = 0.85  # share of a structured cell a match must cover

FLAG_VALUES = {"0", "1", "true", "false", "t", "f", "y", "n", "yes", "no", "0.0", "1.0"}
_SHORT_NUMBER = re.compile(r"^[+-]?\d{1,6}(?:[.,]\d+)?$")
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’]+)?\.?"
_NAME_SHAPE = re.compile(rf"^{_NAME_WORD}(?:\s+(?:(?:van|von|der|den|de|del|della|di|da|du|la|le|st\.?|bin|al)\s+)*"
                         rf"(?:{_NAME_WORD}|[A-Z]\.|O'[A-Z][a-z]+|Mc[A-Z][a-z]+)){{1,3}}$")
_ONE_NAME = re.compile(rf"^{_NAME_WORD}$")
# Column names that hold one part of a name: a single word is enough.
_NAME_PART = {"firstname", "lastname", "surname", "forename", "first name", "last name", "given name", "family name"}
# Words that make a "...name" column about things, not people.
_NOT_PEOPLE = {"product", "company", "file", "filename", "host", "hostname", "table", "column", "schema", "street",
               "city", "country", "brand", "business", "store", "restaurant", "shop", "domain", "menu", "item",
               "category", "project", "job", "task", "app", "service", "event", "team", "org", "organization",
               "department", "bank", "merchant", "vendor", "supplier", "dataset", "database", "field", "tag",
               "display", "user", "username", "screen", "account", "device", "model", "server", "region", "state"}
# A column named like a key refers to a thing (city_id): its name alone suggests nothing.
_REFERENCE_WORDS = {"id", "ids", "key", "fk", "uuid"}
# Entities a column name alone may suggest.
_NAME_ONLY = {"LOCATION"} | {name for name, e in ENTITIES.items() if e.special}


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

    def to_dict(self) -> dict:
        return asdict(self)


def _finding(entity: str, recognizer: str, score: float, matched: int, sampled: int, evidence: str) -> Finding:
    spec = ENTITIES[entity]
    return Finding(entity, spec.category, spec.special, recognizer, round(score, 3), matched, sampled, evidence)


def _is_free_text(value: str) -> bool:
    return len(value) > 40 and value.count(" ") >= 4


def _cell_hits(value: str, results) -> dict[str, tuple[float, str, set[str]]]:
    """Entity -> (score, recognizer, entities it overlapped) for one cell, after the anchoring rule."""
    free = _is_free_text(value)
    kept = [r for r in results if (r.entity_type not in IGNORED_PRESIDIO or r.entity_type == "DATE_TIME")
            and (free or (r.end - r.start) >= ANCHOR * len(value))]
    hits: dict[str, tuple[float, str, set[str]]] = {}
    for r in kept:
        name = (r.recognition_metadata or {}).get("recognizer_name", "")
        overlaps = {k.entity_type for k in kept if k.entity_type != r.entity_type and k.start < r.end and r.start < k.end}
        if r.entity_type not in hits or r.score > hits[r.entity_type][0]:
            hits[r.entity_type] = (r.score, name, overlaps | hits.get(r.entity_type, (0, "", set()))[2])
    return hits


def _outvoted(entity: str, matched: Counter, overlapped: dict[str, Counter]) -> bool:
    """True when another entity matched the same spans at least twice as often (a phone number that
    happens to pass the NHS checksum is a phone number)."""
    return any(matched[other] >= 2 * matched[entity] and count >= 0.8 * matched[entity]
               for other, count in overlapped[entity].items())


def classify_column(analyzer: AnalyzerEngine, column: str, values: list[str | None], *,
                    min_ratio: float = MIN_RATIO, batch_size: int = 256) -> ColumnResult:
    present = [v.strip() for v in values if v is not None and v.strip()]
    if not present:
        return ColumnResult(column, 0, note="no values in the sample")
    counts = Counter(present)
    sampled = len(present)
    if {v.lower() for v in counts} <= FLAG_VALUES:
        return ColumnResult(column, sampled, note="flag column (0/1, true/false)")
    hints = context_entities(column)
    context = sorted(name_phrases(name_tokens(column)))
    candidates = [v for v in counts if not _SHORT_NUMBER.match(v)]  # nothing personal fits in 6 digits
    results = BatchAnalyzerEngine(analyzer).analyze_iterator(
        candidates, language=LANGUAGE, batch_size=batch_size, context=context, score_threshold=MIN_SCORE)
    matched: Counter = Counter()
    score_sum: defaultdict[str, float] = defaultdict(float)
    recognizer: defaultdict[str, Counter] = defaultdict(Counter)
    overlapped: defaultdict[str, Counter] = defaultdict(Counter)
    free_cells = 0
    for value, cell_results in zip(candidates, results):
        weight = counts[value]
        free_cells += weight if _is_free_text(value) else 0
        for entity, (score, name, overlaps) in _cell_hits(value, cell_results).items():
            matched[entity] += weight
            score_sum[entity] += score * weight
            recognizer[entity][name] += weight
            for other in overlaps:
                overlapped[entity][other] += weight
    free_text = free_cells >= sampled / 2
    findings = []
    for entity, count in matched.items():
        enough = (count >= min(2, sampled) and count / sampled >= FREE_TEXT_RATIO) if free_text \
            else count / sampled >= min_ratio
        if not enough or _outvoted(entity, matched, overlapped):
            continue
        if entity == "DATE_TIME":
            if "DATE_OF_BIRTH" not in hints:
                continue  # a date is personal only as a birth date
            entity_name, name = "DATE_OF_BIRTH", "DateRecognizer+column name"
        else:
            entity_name, name = entity, recognizer[entity].most_common(1)[0][0]
        if entity_name not in ENTITIES:
            continue
        evidence = "values+name" if entity_name in hints else "values"
        findings.append(_finding(entity_name, name, score_sum[entity] / count, count, sampled, evidence))
    found = {f.entity for f in findings}
    tokens = set(name_tokens(column))
    if "PERSON" in hints and "PERSON" not in found and not tokens & _NOT_PEOPLE:
        one_word = bool(set(context) & _NAME_PART)
        shaped = sum(n for v, n in counts.items() if _NAME_SHAPE.match(v) or (one_word and _ONE_NAME.match(v)))
        if shaped / sampled >= 0.6:
            findings.append(_finding("PERSON", "NameShapeRule+column name", 0.5 + 0.4 * shaped / sampled,
                                     shaped, sampled, "values+name"))
            found.add("PERSON")
    if not findings and tokens.isdisjoint(_REFERENCE_WORDS):
        for entity in sorted(hints & _NAME_ONLY):
            findings.append(_finding(entity, "column name", NAME_ONLY_SCORE, 0, sampled, "name"))
    findings.sort(key=lambda f: (-f.score, f.entity))
    return ColumnResult(column, sampled, findings)


def scan(sample: Sample, *, model: str | None = None, min_ratio: float = MIN_RATIO,
         progress: Callable[[int], None] | None = None) -> ScanResult:
    """Classify every column of a sample; ``progress`` is called with 1 per column done."""
    analyzer = build_analyzer(model)
    started = time.perf_counter()
    columns = []
    for name, values in sample.columns.items():
        columns.append(classify_column(analyzer, name, values, min_ratio=min_ratio))
        if progress:
            progress(1)
    return ScanResult(sample.source, sample.rows, round(time.perf_counter() - started, 3), model, columns)
