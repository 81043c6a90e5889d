"""The language tables: folding, compounds, and what a table must hold."""

import pytest

from policies.vocabulary import LANGUAGES_DIR, fold, load_language, vocabulary, words_of


def test_folding_ignores_case_accents_and_umlaut_spellings():
    assert fold("Straße") == fold("STRASSE") == "strasse"
    assert fold("Größe") == fold("groesse")
    assert fold("Fødselsdato") == "fodselsdato" and fold("Łódź") == "lodz"
    assert words_of("KundenEmail_2") == ["kunden", "email", "2"]


def test_greek_and_cyrillic_are_folded_into_latin_letters():
    assert fold("ΗΜΕΡΟΜΗΝΙΑ_ΓΕΝΝΗΣΗΣ") == fold("ημερομηνία_γέννησης") == "imerominia_gennisis"
    assert fold("Παπαδόπουλος") == "papadopoulos" and fold("Ευάγγελος") == "evangelos"  # ου, ευ, γγ
    assert fold("Дата на раждане") == "data na razhdane" and fold("София") == "sofia"  # -ия at a word's end
    assert fold("Йордан") == "yordan"  # й keeps its own letter, not и's
    assert words_of("ΑΜΚΑ_Πελάτη") == ["amka", "pelati"]


def test_compounds_are_cut_into_known_words():
    vocab = vocabulary()
    assert vocab.split_compound("kundenemail") == ["kunden", "email"]
    assert vocab.split_compound("produktname") == ["produkt", "name"]
    assert vocab.split_compound("xylophon") == []
    assert vocab.split_compound("ugyfelnev") == ["ugyfel", "nev"]


def test_an_ordinary_word_is_not_cut_into_short_parts():
    # Short words of the tables (ime: a first name in hr and sl, tim, en, dt) would cut these by chance.
    for word in ("regime", "runtime", "endtime", "daytime"):
        assert vocabulary().split_compound(word) == [], word
        assert vocabulary().column(word).entities == frozenset(), word


def test_every_table_loads_and_covers_the_core_entities():
    tables = sorted(LANGUAGES_DIR.glob("*.yaml"))
    assert {p.stem for p in tables} >= {"en", "de", "fr", "es", "it", "nl", "pl", "pt", "sv", "da", "cs", "sk", "hu",
                                        "fi", "et", "ro", "hr", "sl", "lv", "lt", "el", "bg"}
    for path in tables:
        language = load_language(path)
        for entity in ("EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON", "DATE_OF_BIRTH", "LOCATION", "HEALTH", "RELIGION"):
            assert language.columns.get(entity), (path.name, entity)
        assert len(language.months) == 12 and language.regions, path.name


def test_a_table_with_a_wrong_month_list_is_refused(tmp_path):
    path = tmp_path / "xx.yaml"
    path.write_text("language: xx\nmonths: [[jan], [feb]]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="12 months"):
        load_language(path)


def test_a_table_with_a_term_that_folds_to_nothing_is_refused(tmp_path):
    # An empty term would match at every word boundary: every cell would hold it.
    path = tmp_path / "xx.yaml"
    path.write_text("language: xx\nvalues:\n  HEALTH: [asthma, \"\u0905\u0938\u094d\u0925\u092e\u093e\"]\n",
                    encoding="utf-8")
    with pytest.raises(ValueError, match="no letters or digits once folded"):
        load_language(path)


def test_plural_column_names_mean_what_the_singular_means():
    entities = lambda name: set(vocabulary().column(name).entities)
    assert entities("opinions_politiques") == {"POLITICAL_OPINION"}
    assert entities("allergies") == {"HEALTH"} and entities("Prénoms") == {"PERSON"}
    assert entities("convictions_religieuses") == {"RELIGION"} and entities("customerEmails") == {"EMAIL_ADDRESS"}
