"""GDPR policies as code: the policy file's model, and which rules apply to a dataset.

A policy file (YAML, see docs/policies.md and docs/policy.schema.json) names its rules. A
rule selects datasets (namespace/name globs, tags, classifications, storage location) and
says how their personal data must be treated: an anonymization operator per entity type or
per column, a k-anonymity check on quasi-identifiers, which roles see what, the retention
and the allowed locations audits check. Keys for keyed operators are named here and read
from the environment or a file when used, never written in the policy.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from typing import Annotated, Literal, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from policies.entities import ENTITIES

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
ROLES = ("producer", "viewer", "steward", "compliance_officer", "admin")
CATEGORIES = sorted({e.category for e in ENTITIES.values()})
ANY_ENTITY = "*"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------- operators
class Mask(_Strict):
    """Replace characters with ``char``, keeping the first/last few (values no longer than
    keep_first + keep_last are masked whole)."""
    operator: Literal["mask"]
    keep_first: int = Field(0, ge=0, le=64)
    keep_last: int = Field(4, ge=0, le=64)
    char: str = Field("*", min_length=1, max_length=1)


class Redact(_Strict):
    """Remove the value (empty in CSV, null in Parquet)."""
    operator: Literal["redact"]


class Replace(_Strict):
    """A constant in place of the value; default ``<ENTITY>`` (e.g. ``<EMAIL_ADDRESS>``) or ``<REDACTED>``."""
    operator: Literal["replace"]
    value: str | None = Field(None, max_length=200)


class Hash(_Strict):
    """Keyed hash, HMAC-SHA256 in hex: equal inputs give equal outputs under one key (joins still work)."""
    operator: Literal["hash"]
    key: str = Field(description="name of a secret under `secrets`")
    length: int = Field(64, ge=16, le=64, description="hex characters kept")


class Tokenize(_Strict):
    """Deterministic pseudonym ``<prefix><base32 of HMAC>``; with a vault, reversible by its key holder."""
    operator: Literal["tokenize"]
    key: str = Field(description="name of a secret under `secrets`")
    vault: str | None = Field(None, description="name of a vault under `vaults` that records token -> value")
    prefix: str = Field("tok_", max_length=16, pattern=r"^[A-Za-z0-9_-]*$")
    length: int = Field(20, ge=8, le=52, description="base32 characters after the prefix")


class Generalize(_Strict):
    """Coarser values: dates to year/month/decade, strings to their first characters, numbers to ranges."""
    operator: Literal["generalize"]
    date: Literal["year", "month", "decade"] | None = None
    keep_first: int | None = Field(None, ge=0, le=64, description="keep this many characters, mask the rest")
    bucket: float | None = Field(None, gt=0, description="numbers to ranges of this width, e.g. 10 -> '30-39'")
    char: str = Field("*", min_length=1, max_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Generalize:
        if sum(x is not None for x in (self.date, self.keep_first, self.bucket)) != 1:
            raise ValueError("set exactly one of date, keep_first, bucket")
        return self


class DateShift(_Strict):
    """Shift dates by a keyed pseudo-random number of days in [-max_days, max_days]; with ``by`` the
    same shift for every value of that column (one subject's dates keep their intervals)."""
    operator: Literal["date_shift"]
    key: str = Field(description="name of a secret under `secrets`")
    max_days: int = Field(30, ge=1, le=3650)
    by: str | None = Field(None, description="column whose value picks the shift (e.g. customer_id)")


class AnonymizeText(_Strict):
    """Free text: Presidio finds personal data in each value and the rule's entity operators replace
    each span (entities without one become ``<ENTITY>``)."""
    operator: Literal["anonymize_text"]
    score_threshold: float = Field(0.4, ge=0, le=1, description="Presidio score a span needs; lower than for "
                                   "classification, since a missed span leaks")


Operator = Annotated[Union[Mask, Redact, Replace, Hash, Tokenize, Generalize, DateShift, AnonymizeText],
                     Field(discriminator="operator")]
KEYED = (Hash, Tokenize, DateShift)


# --------------------------------------------------------------------------- the file
class Selector(_Strict):
    """Which datasets a rule applies to: every list given must match (any of its items)."""
    datasets: list[str] = Field(default_factory=list, description="globs on 'namespace/name'")
    tags: list[str] = Field(default_factory=list)
    classifications: list[str] = Field(
        default_factory=list, description="entity types (EMAIL_ADDRESS), GDPR categories (contact) or 'special'")
    locations: list[str] = Field(default_factory=list, description="globs on storage location or country")


class KAnonymity(_Strict):
    quasi_identifiers: list[str] = Field(min_length=1, description="output columns that together could single "
                                                                   "someone out")
    k: int = Field(5, ge=2)
    on_failure: Literal["fail", "warn"] = "fail"


class Rule(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = None
    applies_to: Selector = Field(default_factory=Selector)
    entities: dict[str, Operator] = Field(
        default_factory=dict, description="entity type ('*' = any other personal data) -> operator")
    columns: dict[str, Operator] = Field(default_factory=dict, description="column name -> operator; wins over "
                                                                           "entities")
    k_anonymity: KAnonymity | None = None
    access: dict[Literal["producer", "viewer", "steward", "compliance_officer", "admin"],
                 Literal["clear", "anonymized", "hidden"]] = Field(
        default_factory=dict, description="what each role sees of the personal data in these datasets")
    retention_days: int | None = Field(None, ge=1, description="keep personal data at most this long (audits)")
    allowed_locations: list[str] = Field(default_factory=list, description="storage locations/countries allowed "
                                                                           "(audits)")
    require_anonymized: bool = Field(False, description="these datasets must hold no personal data reached "
                                                        "without an anonymizing step (audits)")


class SecretRef(_Strict):
    """Where a key is read from when an operator needs it; values never live in the policy."""
    env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_values(cls, data: object) -> object:
        if isinstance(data, dict) and set(data) - {"env", "file"}:
            raise ValueError(f"unexpected {', '.join(sorted(map(str, set(data) - {'env', 'file'})))}: a secret "
                             "names an environment variable (env) or a file (file); its value never goes in the "
                             "policy")
        return data

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env (a variable name) or file (a path); "
                             "secret values never go in the policy")
        return self


class VaultSpec(_Strict):
    path: str = Field(description="SQLite file (relative paths: to the working directory)")
    key: str = Field(description="name of the secret that encrypts the vault; only its holder can reverse tokens")


class Policy(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = None
    secrets: dict[str, SecretRef] = Field(default_factory=dict)
    vaults: dict[str, VaultSpec] = Field(default_factory=dict)
    anonymizing_jobs: list[str] = Field(
        default_factory=list, description="job id globs whose outputs hold no personal data of their inputs; "
                                          "classification propagation stops there")
    rules: list[Rule] = Field(min_length=1)

    def problems(self) -> list[tuple[tuple, str]]:
        """Cross-references the model alone cannot check: (location, message) pairs."""
        found: list[tuple[tuple, str]] = []
        seen: set[str] = set()
        for name, vault in self.vaults.items():
            if vault.key not in self.secrets:
                found.append((("vaults", name, "key"), f"no secret named {vault.key!r} under secrets"))
        for i, rule in enumerate(self.rules):
            if rule.name in seen:
                found.append((("rules", i, "name"), f"a rule named {rule.name!r} comes earlier"))
            seen.add(rule.name)
            for j, item in enumerate(rule.applies_to.classifications):
                if item not in ENTITIES and item not in CATEGORIES and item != "special":
                    found.append((("rules", i, "applies_to", "classifications", j),
                                  f"{item!r} is not an entity type, a GDPR category ({', '.join(CATEGORIES)}) "
                                  "or 'special'"))
            for entity in rule.entities:
                if entity not in ENTITIES and entity != ANY_ENTITY:
                    found.append((("rules", i, "entities", entity), f"unknown entity type {entity!r}"))
            for where, operators in (("entities", rule.entities), ("columns", rule.columns)):
                for target, op in operators.items():
                    loc = ("rules", i, where, target)
                    if isinstance(op, KEYED) and op.key not in self.secrets:
                        found.append((loc + ("key",), f"no secret named {op.key!r} under secrets"))
                    if isinstance(op, Tokenize) and op.vault and op.vault not in self.vaults:
                        found.append((loc + ("vault",), f"no vault named {op.vault!r} under vaults"))
                    if isinstance(op, AnonymizeText) and where == "entities":
                        found.append((loc + ("operator",), "anonymize_text is for free-text columns; "
                                                           "use it under columns"))
        return found

    @property
    def version(self) -> str:
        """Content hash: equal documents have equal versions, whatever their formatting."""
        return version_of(self.document())

    def document(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True)


def version_of(document: dict) -> str:
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def json_schema() -> dict:
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://lineage-catalog.dev/schemas/policy.schema.json"
    schema["title"] = "lineage-catalog GDPR policy"
    return schema


# ---------------------------------------------------------------------- applicability
@dataclass
class DatasetFacts:
    """What rule selectors look at; classifications are the non-rejected entity types."""
    namespace: str
    name: str
    tags: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)

    @property
    def categories(self) -> set[str]:
        return {ENTITIES[e].category for e in self.entities if e in ENTITIES}

    @property
    def special(self) -> bool:
        return any(ENTITIES[e].special for e in self.entities if e in ENTITIES)


def _glob(patterns: list[str], values: set[str]) -> str | None:
    for pattern in patterns:
        for value in sorted(values):
            if fnmatch.fnmatchcase(value, pattern):
                return f"{value} matches {pattern!r}" if pattern != value else value
    return None


def why_applies(rule: Rule, facts: DatasetFacts) -> list[str] | None:
    """The reasons ``rule`` applies to the dataset, or None when it does not."""
    selector = rule.applies_to
    reasons = []
    if selector.datasets:
        hit = _glob(selector.datasets, {f"{facts.namespace}/{facts.name}"})
        if not hit:
            return None
        reasons.append(f"dataset {hit}")
    if selector.tags:
        hit = sorted(set(selector.tags) & facts.tags)
        if not hit:
            return None
        reasons.append(f"tagged {', '.join(hit)}")
    if selector.classifications:
        wanted = set(selector.classifications)
        hit = sorted(wanted & facts.entities) + sorted(wanted & facts.categories)
        if "special" in wanted and facts.special:
            hit.append("special (Art. 9)")
        if not hit:
            return None
        reasons.append(f"classified {', '.join(hit)}")
    if selector.locations:
        hit = _glob(selector.locations, facts.locations)
        if not hit:
            return None
        reasons.append(f"stored in {hit}")
    return reasons or ["applies to every dataset"]


def applicable_rules(policy: Policy, facts: DatasetFacts) -> list[tuple[Rule, list[str]]]:
    return [(rule, why) for rule in policy.rules if (why := why_applies(rule, facts)) is not None]
