"""Anonymization operators over Arrow columns.

Each policy operator compiles to a function ``(batch, column) -> array`` over one record
batch. String operators (mask, replace, generalize) are vectorised Arrow compute; keyed
ones (hash, tokenize, date shift) and free text (Presidio) run once per distinct value of
the batch (``_per_distinct``), which is what makes repeated values cheap.

Keys come from a :class:`Keyring` that reads the policy's secret references (environment
variable or file) when first needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from policies import policy as model
from policies.vault import Vault

MIN_KEY_BYTES = 16
ColumnOperator = Callable[[pa.RecordBatch, str], pa.Array]


class OperatorError(ValueError):
    pass


class Keyring:
    """Secrets by name, read from the environment or files on first use."""

    def __init__(self, secrets: dict[str, model.SecretRef], base_dir: Path = Path("."), environ=None):
        self._refs = secrets
        self._base = Path(base_dir)
        self._environ = os.environ if environ is None else environ
        self._cache: dict[str, bytes] = {}

    def get(self, name: str) -> bytes:
        if name not in self._cache:
            ref = self._refs[name]
            if ref.env:
                value = self._environ.get(ref.env)
                if value is None:
                    raise OperatorError(f"secret {name!r}: environment variable {ref.env} is not set")
                secret = value.encode()
            else:
                path = (self._base / ref.file).expanduser()
                try:
                    secret = path.read_bytes().rstrip(b"\r\n")
                except OSError as exc:
                    raise OperatorError(f"secret {name!r}: cannot read {path}: {exc.strerror}") from None
            if len(secret) < MIN_KEY_BYTES:
                raise OperatorError(f"secret {name!r} is {len(secret)} bytes; keyed operators need at least "
                                    f"{MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)")
            self._cache[name] = secret
        return self._cache[name]


class Vaults:
    """The policy's vaults, opened on first use (paths relative to the policy file)."""

    def __init__(self, specs: dict[str, model.VaultSpec], keyring: Keyring, base_dir: Path = Path(".")):
        self._specs = specs
        self._keyring = keyring
        self._base = Path(base_dir)
        self._open: dict[str, Vault] = {}

    def get(self, name: str) -> Vault:
        if name not in self._open:
            spec = self._specs[name]
            self._open[name] = Vault(self._base / spec.path, self._keyring.get(spec.key))
        return self._open[name]

    def close(self) -> None:
        for vault in self._open.values():
            vault.close()


# ------------------------------------------------------------------ scalar primitives
def keyed_hash(key: bytes, value: str, length: int = 64) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:length]


def token(key: bytes, value: str, prefix: str = "tok_", length: int = 20) -> str:
    digest = hmac.new(key, b"token\x00" + value.encode(), hashlib.sha256).digest()
    return prefix + base64.b32encode(digest).decode().rstrip("=").lower()[:length]


def shift_days(key: bytes, subject: str, max_days: int) -> int:
    digest = hmac.new(key, b"date-shift\x00" + subject.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % (2 * max_days + 1) - max_days


def _shift(text: str, days: int) -> str:
    text = text.strip()
    try:
        if len(text) == 10:
            return (date.fromisoformat(text) + timedelta(days=days)).isoformat()
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise OperatorError(f"date_shift needs ISO dates (2024-03-01 or 2024-03-01T10:00:00), found {text[:40]!r}") \
            from None
    return (parsed + timedelta(days=days)).isoformat(sep="T" if "T" in text else " ")


# ------------------------------------------------------------------- vector helpers
def _strings(array: pa.Array) -> pa.Array:
    return array if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) \
        else pc.cast(array, pa.string())


def _per_distinct(array: pa.Array, fn: Callable[[list], list], out_type=pa.string()) -> pa.Array:
    """``fn`` over the distinct non-null values, spread back to every row."""
    encoded = pc.dictionary_encode(array)
    mapped = pa.array(fn(encoded.dictionary.to_pylist()), type=out_type)
    return pc.take(mapped, encoded.indices)


def _mask(array: pa.Array, keep_first: int, keep_last: int, char: str) -> pa.Array:
    text = _strings(array)
    length = pc.utf8_length(text)
    keeps = pc.greater(length, keep_first + keep_last)  # shorter values are masked whole
    parts = [pc.if_else(keeps, pc.utf8_slice_codeunits(text, 0, keep_first), ""),
             pc.binary_repeat(char, pc.if_else(keeps, pc.subtract(length, keep_first + keep_last), length))]
    if keep_last:
        parts.append(pc.if_else(keeps, pc.utf8_slice_codeunits(text, -keep_last), ""))
    return pc.binary_join_element_wise(*parts, "")


def _buckets(width: float) -> Callable[[list], list]:
    integral = float(width).is_integer()

    def label(values: list) -> list:
        out = []
        for value in values:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise OperatorError(f"generalize bucket needs numbers, found {str(value)[:40]!r}") from None
            low = (number // width) * width
            out.append(f"{int(low)}-{int(low + width - 1)}" if integral and number.is_integer()
                       else f"{low:g}-{low + width:g}")
        return out
    return label


# ------------------------------------------------------------------------ compile
def _on_one_value(column_op: ColumnOperator) -> Callable[[str], str]:
    """A column operator applied to a single string (a span Presidio found in free text)."""
    return lambda value: column_op(pa.record_batch({"v": pa.array([value])}), "v")[0].as_py() or ""


def _text_operator(rule_entities: dict, keyring: Keyring, vaults: Vaults, spacy_model: str | None,
                   score_threshold: float) -> Callable[[list], list]:
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig

    from policies.entities import ENTITIES
    from policies.recognizers import LANGUAGE, build_analyzer

    analyzer = build_analyzer(spacy_model)
    anonymizer = AnonymizerEngine()
    operators = {"DEFAULT": OperatorConfig("replace")}
    for entity, op in rule_entities.items():
        if isinstance(op, model.AnonymizeText):
            continue
        span_operator = _on_one_value(compile_operator(op, entity, keyring, vaults, spacy_model))
        operators["DEFAULT" if entity == model.ANY_ENTITY else entity] = OperatorConfig("custom",
                                                                                        {"lambda": span_operator})

    def run(values: list) -> list:
        out = []
        for text in values:
            found = [r for r in analyzer.analyze(text=text, language=LANGUAGE, score_threshold=score_threshold)
                     if r.entity_type in ENTITIES]
            out.append(anonymizer.anonymize(text=text, analyzer_results=found, operators=operators).text
                       if found else text)
        return out
    return run


def compile_operator(op, entity: str | None, keyring: Keyring, vaults: Vaults, spacy_model: str | None = None,
                     rule_entities: dict | None = None) -> ColumnOperator:
    """The column function for one policy operator (``entity`` names the replacement placeholder)."""
    if isinstance(op, model.Mask):
        return lambda batch, col: _mask(batch[col], op.keep_first, op.keep_last, op.char)
    if isinstance(op, model.Redact):
        return lambda batch, col: pa.nulls(len(batch[col]), batch[col].type)
    if isinstance(op, model.Replace):
        value = op.value if op.value is not None else f"<{entity or 'REDACTED'}>"
        return lambda batch, col: pc.if_else(pc.is_null(batch[col]), pa.scalar(None, pa.string()), value)
    if isinstance(op, model.Hash):
        key = keyring.get(op.key)
        return lambda batch, col: _per_distinct(_strings(batch[col]),
                                                lambda vs: [keyed_hash(key, v, op.length) for v in vs])
    if isinstance(op, model.Tokenize):
        key = keyring.get(op.key)
        vault = vaults.get(op.vault) if op.vault else None

        def tokenize(values: list) -> list:
            tokens = [token(key, v, op.prefix, op.length) for v in values]
            if vault is not None:
                vault.put_many(list(zip(tokens, values)))
            return tokens
        return lambda batch, col: _per_distinct(_strings(batch[col]), tokenize)
    if isinstance(op, model.Generalize):
        if op.date:
            size, suffix = {"year": (4, ""), "month": (7, ""), "decade": (3, "0s")}[op.date]
            return lambda batch, col: pc.binary_join_element_wise(
                pc.utf8_slice_codeunits(_strings(batch[col]), 0, size), suffix, "")
        if op.keep_first is not None:
            return lambda batch, col: _mask(batch[col], op.keep_first, 0, op.char)
        return lambda batch, col: _per_distinct(batch[col], _buckets(op.bucket))
    if isinstance(op, model.DateShift):
        key = keyring.get(op.key)

        def date_shift(batch: pa.RecordBatch, col: str) -> pa.Array:
            array = batch[col]
            text = _strings(array)
            if op.by is not None and op.by not in batch.schema.names:
                raise OperatorError(f"date_shift by {op.by!r}: no such column")
            subjects = _strings(batch[op.by]).fill_null("") if op.by else text
            # One distinct (subject, date) pair per entry: the shift depends on the subject only.
            pairs = pc.binary_join_element_wise(subjects, text, "\x00")
            shifted = _per_distinct(pairs, lambda items: [
                _shift(value, shift_days(key, subject, op.max_days))
                for subject, value in (item.split("\x00", 1) for item in items)])
            return shifted if text is array else pc.cast(shifted, array.type)
        return date_shift
    if isinstance(op, model.AnonymizeText):
        run = _text_operator(rule_entities or {}, keyring, vaults, spacy_model, op.score_threshold)
        return lambda batch, col: _per_distinct(_strings(batch[col]), run)
    raise OperatorError(f"unknown operator {op!r}")


# Lineage: how each operator shows up in the columnLineage facet it emits (all masking).
SUBTYPES = {"mask": "MASKED", "redact": "REDACTED", "replace": "REDACTED", "hash": "HASHED", "tokenize": "TOKENIZED",
            "generalize": "ANONYMIZED", "date_shift": "ANONYMIZED", "anonymize_text": "REDACTED"}


def describe(op) -> str:
    """One line for plans, dry runs and lineage: what happens to the column."""
    if isinstance(op, model.Mask):
        return f"mask with {op.char!r}, keep first {op.keep_first} / last {op.keep_last}"
    if isinstance(op, model.Redact):
        return "remove the value"
    if isinstance(op, model.Replace):
        return f"replace with {op.value!r}" if op.value is not None else "replace with <ENTITY>"
    if isinstance(op, model.Hash):
        return f"HMAC-SHA256 with secret {op.key!r}, {op.length} hex chars"
    if isinstance(op, model.Tokenize):
        return f"token {op.prefix}<{op.length} base32> with secret {op.key!r}" + (
            f", reversible in vault {op.vault!r}" if op.vault else ", not reversible")
    if isinstance(op, model.Generalize):
        if op.date:
            return f"generalize dates to the {op.date}"
        if op.keep_first is not None:
            return f"keep the first {op.keep_first} characters"
        return f"generalize numbers to ranges of {op.bucket:g}"
    if isinstance(op, model.DateShift):
        return f"shift dates by up to ±{op.max_days} days with secret {op.key!r}" + (
            f", the same shift per {op.by}" if op.by else "")
    if isinstance(op, model.AnonymizeText):
        return "find personal data in the text (Presidio) and apply the rule's entity operators to each span"
    raise OperatorError(f"unknown operator {op!r}")
