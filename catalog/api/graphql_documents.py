"""GraphQL documents parsed and validated once per text, with the document limits (one schema extension).

Clients send the same few documents again and again, and parsing and validating one costs more than running a
small query. strawberry's ParserCache, ValidationCache, MaxTokensLimiter and AddValidationRules do this as four
extensions; as one, a request runs one hook per phase instead of four, and the validation is looked up by the
cached document itself instead of by hashing its whole syntax tree each time. The depth and alias rules are
built once, so that a cached validation matches them.

A document of several operations needs an operationName (as the GraphQL spec's GetOperation says); strawberry
would run the first.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.schema import validate_document

MAX_QUERY_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 3000
DOCUMENTS_KEPT = 512  # distinct documents kept parsed and validated (least recently used go first)
LIMIT_RULES = (depth_rule(MAX_QUERY_DEPTH, None), aliases_rule(MAX_ALIASES))


@lru_cache(maxsize=DOCUMENTS_KEPT)
def parsed(text: str) -> DocumentNode:
    """The document of a query text; a syntax error or more than MAX_TOKENS tokens raise (and are not kept)."""
    return parse(text, max_tokens=MAX_TOKENS)


# id(document) -> (document, errors, operations in it): the document is kept with its id, so no other document
# can take it.
_VALIDATED: dict[int, tuple[DocumentNode, list, int]] = {}


class CachedDocuments(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            context.graphql_document = parsed(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        kept = _VALIDATED.pop(id(document), None)  # popped and put back: the dict's order is recency
        if kept is None or kept[0] is not document:
            kept = (document, validate_document(context.schema._schema, document,
                                                (*context.validation_rules, *LIMIT_RULES)),
                    sum(isinstance(d, OperationDefinitionNode) for d in document.definitions))
            if len(_VALIDATED) >= DOCUMENTS_KEPT:
                _VALIDATED.pop(next(iter(_VALIDATED)))
        _VALIDATED[id(document)] = kept
        _, errors, operations = kept
        context.pre_execution_errors = errors
        # The name as the request gave it: the public operation_name falls back to the first operation's.
        if not errors and context._provided_operation_name is None and operations > 1:
            context.pre_execution_errors = [GraphQLError(
                "Must provide operation name if query contains multiple operations.")]
        yield
