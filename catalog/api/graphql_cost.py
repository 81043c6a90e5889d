"""A cost limit on GraphQL operations, checked before anything runs.

The cost is the number of objects an operation may return, as GitHub's API counts it: each
selected field counts once for every item its enclosing lists may hold, where a list's size
is its ``first`` argument (the value sent, or the argument's default). Depth, aliases and
document size have their own limits (see catalog.api.graphql).
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode,
                     IntValueNode, VariableNode, get_named_type, get_operation_ast)
from graphql.execution import ExecutionResult
from strawberry.extensions import SchemaExtension

MAX_COST = 200_000


def operation_cost(schema, document, operation_name: str | None, variables: dict | None) -> int:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Costing(schema, fragments, variables).cost(operation.selection_set,
                                                      schema.get_root_type(operation.operation), 1)


class _Costing:
    """The walk of one operation's selections. Methods, not nested functions: a nested function that calls itself
    is a reference cycle, left for the garbage collector with everything it holds, on every request."""

    def __init__(self, schema, fragments: dict, variables: dict | None):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables or {}

    def size(self, field_def, node: FieldNode) -> int:
        argument = next((a for a in node.arguments or () if a.name.value == "first"), None)
        if argument is None:
            default = field_def.args["first"].default_value if "first" in field_def.args else None
            return default if isinstance(default, int) else 1
        if isinstance(argument.value, IntValueNode):
            return int(argument.value.value)
        if isinstance(argument.value, VariableNode):
            value = self.variables.get(argument.value.name.value)
            return value if isinstance(value, int) else 1
        return 1

    def fields(self, selection_set, parent_type) -> Iterator[tuple[FieldNode, object]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent_type
            elif isinstance(selection, InlineFragmentNode):
                condition = self.schema.get_type(selection.type_condition.name.value) if selection.type_condition \
                    else parent_type
                yield from self.fields(selection.selection_set, condition)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value in self.fragments:
                fragment = self.fragments[selection.name.value]
                yield from self.fields(fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value))

    def cost(self, selection_set, parent_type, multiplier: int, seen: int = 0) -> int:
        total = 0
        for node, owner in self.fields(selection_set, parent_type):
            field_def = getattr(owner, "fields", {}).get(node.name.value)
            total += multiplier
            if field_def is not None and node.selection_set is not None and seen < 64:
                total += self.cost(node.selection_set, get_named_type(field_def.type),
                                   multiplier * max(1, self.size(field_def, node)), seen + 1)
        return total


class QueryCostLimiter(SchemaExtension):
    def on_execute(self):
        context = self.execution_context
        cost = operation_cost(context.schema._schema, context.graphql_document, context.operation_name,
                              context.variables)
        if cost > MAX_COST:
            context.result = ExecutionResult(data=None, errors=[GraphQLError(
                f"query cost {cost:,} exceeds the limit of {MAX_COST:,}: the cost counts every object the query "
                f"may return (each field times the `first` of the lists around it); ask for smaller pages or fewer "
                f"nested fields", extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": MAX_COST})])
        yield
