"""Person names of Europe, offline: the first and last names Faker ships for each locale.

Faker (MIT) keeps per-locale name lists drawn from national statistics. Loaded once per
process (about 0.2 s), folded like column names, so ``MÜLLER``, ``müller`` and ``Muller``
are one name. The classifier asks only whether a word is a known name; it never stores or
reports the names it saw.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from policies.vocabulary import fold

# Faker locales of the EU/EEA, the UK and Switzerland: the people the catalog's users hold data on.
LOCALES = ("de_DE", "de_AT", "de_CH", "fr_FR", "fr_BE", "fr_CH", "es_ES", "it_IT", "nl_NL", "nl_BE", "pl_PL",
           "pt_PT", "sv_SE", "da_DK", "fi_FI", "no_NO", "cs_CZ", "sk_SK", "sl_SI", "hr_HR", "hu_HU", "ro_RO",
           "bg_BG", "el_GR", "et_EE", "lt_LT", "lv_LV", "en_GB", "en_IE", "en_US", "ga_IE")
MIN_LETTERS = 3  # shorter entries (Li, Ek) match too many ordinary words
# Polish and Czech surnames change with gender: Kowalski / Kowalska, Nowacki / Nowacka.
_GENDERED_ENDINGS = (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka"), ("ny", "na"), ("ý", "á"))


def _names(provider, kind: str) -> set[str]:
    found: set[str] = set()
    lists = [a for a in dir(provider) if kind in a and isinstance(getattr(provider, a), (list, tuple, dict))]
    for attribute in lists:
        for name in getattr(provider, attribute):
            for part in str(name).replace("-", " ").split():
                folded = fold(part)
                if len(folded) >= MIN_LETTERS and folded.isalpha():
                    found.add(folded)
    return found


def _with_gendered_forms(names: set[str]) -> set[str]:
    out = set(names)
    for name in names:
        for male, female in _GENDERED_ENDINGS:
            male, female = fold(male), fold(female)
            if name.endswith(male):
                out.add(name[:-len(male)] + female)
            elif name.endswith(female):
                out.add(name[:-len(female)] + male)
    return out


@lru_cache(maxsize=1)
def person_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names), folded."""
    first: set[str] = set()
    last: set[str] = set()
    for locale in LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ModuleNotFoundError:  # a locale an older Faker lacks
            continue
        first |= _names(provider, "first_name")
        last |= _names(provider, "last_name")
    return frozenset(first), frozenset(_with_gendered_forms(last))
