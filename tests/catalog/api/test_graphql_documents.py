"""Documents parsed and validated once per text, and the token limit on every request (the depth and alias
limits, cached or not, are tested over HTTP in test_graphql.py)."""

import asyncio

from catalog.api import graphql_documents
from catalog.api.graphql import schema
from catalog.api.graphql_documents import DOCUMENTS_KEPT, MAX_TOKENS


def errors(document: str) -> list[str]:
    """The errors of a document that fails before any resolver runs (none needs a context)."""
    result = asyncio.run(schema.execute(document))
    return [e.message for e in result.errors or []]


def test_a_document_over_the_token_limit_is_refused_every_time():
    document = "{ " + " ".join(["__typename"] * MAX_TOKENS) + " }"
    for _ in range(2):
        assert errors(document) == [f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. "
                                    "Parsing aborted."]


def test_syntax_errors_are_answered():
    assert errors("{ lineage(")[0].startswith("Syntax Error")


def test_each_text_is_parsed_and_validated_once_and_the_cache_is_bounded(monkeypatch):
    validations = []
    validate = graphql_documents.validate_document

    def counting(*args):
        validations.append(args[1])
        return validate(*args)
    monkeypatch.setattr(graphql_documents, "validate_document", counting)
    assert errors("{ __typename }") == [] and errors("{ __typename }") == []
    assert len(validations) <= 1  # once, or never if an earlier test validated it already
    assert graphql_documents.parsed("{ __typename }") is graphql_documents.parsed("{ __typename }")
    for i in range(DOCUMENTS_KEPT + 10):
        assert errors(f"{{ a{i}: __typename }}") == []
    assert len(graphql_documents._VALIDATED) <= DOCUMENTS_KEPT


def test_a_document_of_several_operations_needs_an_operation_name():
    document = "query A { a: __typename } query B { b: __typename }"
    assert errors(document) == ["Must provide operation name if query contains multiple operations."]
    assert asyncio.run(schema.execute(document, operation_name="B")).data == {"b": "Query"}
    assert asyncio.run(schema.execute("query A { a: __typename }")).data == {"a": "Query"}
