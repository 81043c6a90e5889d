"""The words the classifier knows, in the EU's main languages: one YAML table per language.

``policies/languages/<code>.yaml`` holds a language's column-name words per entity type, the
value terms that reveal Art. 9 data (health conditions, religions), month names, words written
after a year, street words and company markers, and the phone regions its speakers live in.
Adding a language is adding a table; nothing here names a word.

Everything is compared folded: case, accents and the spellings of umlauts are ignored
(``Straße`` = ``strasse``, ``Geburtsdatum`` = ``GEBURTSDATUM``, ``Größe`` = ``groesse``).
Column names are cut into words at ``_``, ``-``, spaces and camelCase, and a compound word is
cut into the known words it is made of (``Telefonnummer`` -> ``telefon`` + ``nummer``,
``kundenemail`` -> ``kunden`` + ``email``); a plural -s is dropped (``prénoms``, ``allergies``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

LANGUAGES_DIR = Path(__file__).with_name("languages")
MAX_PHRASE = 4  # words in the longest phrase a table may hold
SHORT_PART = 4  # letters below which a compound's part is short (tel, ime, nr)
MIN_AFFIX = 5  # letters a known word needs to be matched at the start or end of an unknown compound
_LINKERS = ("", "s", "n", "en", "e", "es", "er")  # letters between the parts of a compound (Geburtstag)

_SPECIAL_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "þ": "th",
                                  "ı": "i", "й": "y"})  # й, not и with its breve dropped
_UMLAUT_SPELLINGS = re.compile(r"(?<=[a-z])(ae|oe|ue)")
_CAMEL = re.compile(r"(?<=[a-zà-ÿ0-9])(?=[A-ZÀ-Þ])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


# Greek (ELOT 743) and Cyrillic (Bulgaria's official system) in Latin letters, so that a column named
# ημερομηνία_γέννησης or дата_на_раждане reads as its Latin spelling does (imerominia gennisis, data na razhdane),
# and a Greek or Bulgarian name in a cell meets the same name in the gazetteer.
_GREEK_PAIRS = re.compile(r"([αεηο])υ|γ(?=[γξχ])")  # αυ ευ ηυ: av ev iv; ου: ou; γγ γξ γχ: ng nx nch
_CYRILLIC_IA = re.compile(r"ия\b")  # София: Sofia
_TO_LATIN = str.maketrans({
    **dict(zip("αβγδεζηθικλμνξοπρστυφχψω", ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x",
                                            "o", "p", "r", "s", "t", "y", "f", "ch", "ps", "o"])),
    # й, ё and ї lose their marks before this (й is kept apart above, ё and ї become е and і)
    **dict(zip("абвгдежзиклмнопрстуфхцчшщъьюяыэієґ",
               ["a", "b", "v", "g", "d", "e", "zh", "z", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f",
                "h", "ts", "ch", "sh", "sht", "a", "y", "yu", "ya", "y", "e", "i", "ye", "g"])),
})


def _greek_pair(match: re.Match) -> str:
    vowel = match.group(1)
    return "n" if vowel is None else vowel + ("u" if vowel == "ο" else "v")


def fold(text: str) -> str:
    """Lowercase ASCII letters and digits: accents dropped, umlaut spellings made one, Greek and Cyrillic
    written in Latin letters."""
    text = text.casefold().translate(_SPECIAL_LETTERS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if not text.isascii():
        text = _CYRILLIC_IA.sub("ia", _GREEK_PAIRS.sub(_greek_pair, text))
        text = text.translate(_TO_LATIN)
    return _UMLAUT_SPELLINGS.sub(lambda m: m.group(1)[0], text)


def _singular(word: str) -> str:
    # A plural -s (prénoms, allergies, opinions politiques) says the same about a column.
    return word[:-1] if len(word) >= 5 and word.endswith("s") and not word.endswith("ss") else word


def column_words(text: str) -> list[str]:
    """The words of a column name as the tables' column lists are compared: folded, cut, singular."""
    return [_singular(w) for w in words_of(text)]


def words_of(text: str) -> list[str]:
    """``KundenEmail_2`` -> ['kunden', 'email', '2']; ``Date de naissance`` -> ['date', 'de', 'naissance']."""
    return [w for w in _NON_WORD.split(fold(_CAMEL.sub(" ", text))) if w]


@dataclass(frozen=True)
class Language:
    code: str
    regions: tuple[str, ...]
    columns: dict[str, tuple[str, ...]]  # entity -> folded phrases
    name_parts: frozenset[str]
    not_people: frozenset[str]
    words: frozenset[str]
    values: dict[str, tuple[str, ...]]
    months: tuple[tuple[str, ...], ...]
    street_words: frozenset[str]
    street_suffixes: frozenset[str]
    company_markers: tuple[str, ...]
    year_marks: frozenset[str]  # a word written after a date's year (23.07.1994 r.)


def marker_words(text: str) -> list[str]:
    """Words for company markers, with their dots and slashes dropped: S.p.A. -> spa, A/S -> as,
    Sp. z o.o. -> sp z oo (and B.Sc. -> bsc, which is none)."""
    return words_of(text.replace(".", "").replace("/", ""))


def _phrases(items, split=words_of) -> tuple[str, ...]:
    phrases = tuple(dict.fromkeys(" ".join(split(str(item))) for item in items or ()))
    if "" in phrases:  # an empty term would match at every word boundary of every cell
        raise ValueError(f"{next(item for item in items if not split(str(item)))!r} has no letters or digits once "
                         "folded (a script the folding does not write in Latin letters?)")
    return phrases


def load_language(path: Path) -> Language:
    try:
        return _language(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _language(table: dict) -> Language:
    months = tuple(_phrases(names) for names in table.get("months") or ())
    if months and len(months) != 12:
        raise ValueError(f"months must list 12 months, not {len(months)}")
    return Language(
        code=table["language"], regions=tuple(table.get("regions") or ()),
        columns={entity: _phrases(terms, column_words) for entity, terms in (table.get("columns") or {}).items()},
        name_parts=frozenset(_phrases(table.get("name_parts"), column_words)),
        not_people=frozenset(_phrases(table.get("not_people"), column_words)),
        words=frozenset(_phrases(table.get("words"), column_words)),
        values={entity: _phrases(terms) for entity, terms in (table.get("values") or {}).items()},
        months=months, street_words=frozenset(_phrases(table.get("street_words"))),
        street_suffixes=frozenset(_phrases(table.get("street_suffixes"))),
        company_markers=_phrases(table.get("company_markers"), marker_words),
        year_marks=frozenset(_phrases(table.get("year_marks"))),
    )


@dataclass(frozen=True)
class ColumnName:
    """What a column's name says: its words (compounds cut), their phrases, the entity types and
    languages those point at, and whether it names one part of a name or a thing."""

    words: tuple[str, ...]
    phrases: frozenset[str]
    entities: frozenset[str]
    languages: tuple[str, ...]
    name_part: bool
    about_things: bool


class Vocabulary:
    def __init__(self, languages: list[Language]):
        self.languages = {lang.code: lang for lang in languages}
        self.column_terms: dict[str, set[tuple[str, str]]] = {}
        for lang in languages:
            for entity, phrases in lang.columns.items():
                for phrase in phrases:
                    self.column_terms.setdefault(phrase, set()).add((entity, lang.code))
        self.name_parts = frozenset().union(*(lang.name_parts for lang in languages))
        self.not_people = frozenset().union(*(lang.not_people for lang in languages))
        self.known_words = frozenset(w for phrase in (*self.column_terms, *self.name_parts, *self.not_people,
                                                      *(w for lang in languages for w in lang.words))
                                     for w in phrase.split())
        self._affixes = sorted((t for t in self.column_terms if " " not in t and len(t) >= MIN_AFFIX),
                               key=len, reverse=True)
        self.months = {name: number for lang in languages for number, names in enumerate(lang.months, 1)
                       for name in names}
        self.street_words = frozenset().union(*(lang.street_words for lang in languages))
        self.street_suffixes = frozenset().union(*(lang.street_suffixes for lang in languages))
        self.company_markers = tuple(sorted({m for lang in languages for m in lang.company_markers}))
        self.year_marks = frozenset().union(*(lang.year_marks for lang in languages))

    def value_terms(self, entity: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for lang in self.languages.values() for t in lang.values.get(entity, ())))

    def terms_regex(self, entity: str) -> str:
        """A regex of the entity's value terms in every table, as whole words (folded spellings)."""
        return r"\b(?:" + "|".join(re.escape(t) for t in self.value_terms(entity)) + r")\b"

    def regions(self, languages) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r for code in languages for r in self.languages[code].regions))

    def split_compound(self, word: str) -> list[str]:
        """The known words a compound is made of (fewest parts), or [] when it is not made of them."""
        best: dict[int, list[str]] = {0: []}
        for end in range(1, len(word) + 1):
            for start in range(max(0, end - 30), end - 1):
                if start not in best:
                    continue
                piece = word[start:end]
                for linker in _LINKERS:
                    stem = piece[:len(piece) - len(linker)] if linker else piece
                    if linker and not piece.endswith(linker):
                        continue
                    if len(stem) >= 2 and stem in self.known_words:
                        parts = best[start] + [stem]
                        if end not in best or len(parts) < len(best[end]):
                            best[end] = parts
                        break
        parts = best.get(len(word), [])
        # Two or more short parts are a chance cut of an ordinary word (run+tim+e, reg+ime), not a compound.
        return parts if len(parts) > 1 and sum(len(p) < SHORT_PART for p in parts) <= 1 else []

    def _expand(self, word: str) -> list[str]:
        if word in self.known_words or word.isdigit():
            return [word]
        parts = self.split_compound(word)
        if parts:
            return parts
        affixes = [t for t in self._affixes if word.startswith(t) or word.endswith(t)]
        return [word, *affixes[:1]]

    def column(self, name: str) -> ColumnName:
        return _column(self, name)


@lru_cache(maxsize=8192)
def _column(vocabulary: Vocabulary, name: str) -> ColumnName:
    raw = column_words(name)
    words = [part for word in raw for part in vocabulary._expand(word)]
    phrases = {" ".join(seq[i:i + n]) for seq in (raw, words) for n in range(1, MAX_PHRASE + 1)
               for i in range(len(seq) - n + 1)}
    hits = [pair for phrase in phrases for pair in vocabulary.column_terms.get(phrase, ())]
    languages = sorted({lang for _, lang in hits})
    # A term most languages share (email, name) says little about which language this is.
    specific = [lang for lang in languages if lang != "en"] or languages
    return ColumnName(tuple(words), frozenset(phrases), frozenset(e for e, _ in hits), tuple(specific),
                      bool(phrases & vocabulary.name_parts), bool(set(words) & vocabulary.not_people))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """Every table in policies/languages/, loaded once per process."""
    return Vocabulary([load_language(path) for path in sorted(LANGUAGES_DIR.glob("*.yaml"))])
