"""Completion of plain GraphQL subtrees by a function compiled once per document position.

graphql-core completes a result field by field: for each one a resolver call through strawberry's wrapper, a
resolve-info object, a path entry, a type dispatch. A lineage page of a few dozen nodes spent more CPU there
than in its engine reads. Most of what the API returns below a root field is plain: strawberry types whose
fields are attributes (no resolver, no arguments, no permission, no directive). For such a subtree the
completion is the same every time for the same document, so it is compiled into nested closures the first time
and reused, keyed by the (cached, hence identical) field nodes of the document.

The compiled function does what graphql-core does (it reads the same attributes strawberry's basic resolvers
read, makes the same type checks, coerces leaves the same way); anything else (a null in a non-null position, a
value of an unexpected type, an error) makes it give up, and graphql-core completes that subtree from the start,
with its errors and paths. Completion has no
side effects, so doing it twice costs time only. Subtrees with resolvers, arguments or directives are never
compiled: they go through graphql-core as before.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

from graphql import (FieldNode, FragmentSpreadNode, GraphQLLeafType, GraphQLList, GraphQLNonNull,
                     GraphQLObjectType, InlineFragmentNode, SelectionSetNode, Undefined)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

PLANS_KEPT = 4096  # compiled positions kept (documents are cached by text, 512 at most, each a few positions)
Completer = Callable[[Any], Any]
_PLANS: dict[tuple, tuple[list, Completer | None]] = {}  # (type, field node ids) -> (field nodes, completer)


class _GiveUp(Exception):
    """A value the compiled completion does not handle: graphql-core completes the subtree instead."""


class CompilingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, with plain subtrees completed by compiled functions; it breaks its own
    reference cycle once it has answered (see _release)."""

    def execute_operation(self, serially=None):
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._released_after(result)
        self._release()
        return result

    async def _released_after(self, result):
        try:
            return await result
        finally:
            self._release()

    def _release(self) -> None:
        """Break the executor's cycle once its answer is made (its resolve-info helpers are its own bound methods),
        so that a request's objects are freed as it ends: left to the collector, they made a pause of 15-55 ms
        every ~350 requests, each collection finding about 140 objects per request to free."""
        self.async_helpers = None

    def complete_value(self, return_type, field_details_list, info, path, result, position_context):
        # Middleware (a schema extension with a resolve hook) must see every field: none, or no compiling.
        if not (self.middleware_manager and self.middleware_manager.middlewares) and \
                not isinstance(result, Exception):
            complete = self._plan(return_type, field_details_list)
            if complete is not None:
                try:
                    return complete(result)
                except Exception:  # noqa: BLE001 - anything unusual: the general completion, with its errors
                    pass
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def _plan(self, return_type, field_details_list) -> Completer | None:
        nodes = [details.node for details in field_details_list]
        key = (return_type, *map(id, nodes))
        kept = _PLANS.get(key)
        if kept is not None and all(a is b for a, b in zip(kept[0], nodes)):
            return kept[1]
        complete = self._compile(return_type, field_details_list)
        if len(_PLANS) >= PLANS_KEPT:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = (nodes, complete)  # the nodes are kept alive with their ids, which no other node can take
        return complete

    def _compile(self, return_type, field_details_list) -> Completer | None:
        """A function completing ``return_type`` for these field nodes, or None if the subtree is not plain."""
        if isinstance(return_type, GraphQLNonNull):
            inner = self._compile(return_type.of_type, field_details_list)
            return None if inner is None else _non_null(inner)
        if isinstance(return_type, GraphQLList):
            inner = self._compile(return_type.of_type, field_details_list)
            return None if inner is None else _nullable(_list_of(inner))
        if isinstance(return_type, GraphQLLeafType):
            return _nullable(_leaf(return_type))
        if isinstance(return_type, GraphQLObjectType):
            return self._compile_object(return_type, field_details_list)
        return None  # interfaces and unions: the runtime type decides

    def _compile_object(self, object_type: GraphQLObjectType, field_details_list) -> Completer | None:
        if any(d.fragment_variable_values is not None or _has_directives(d.node.selection_set, self.fragments)
               for d in field_details_list):
            return None  # the selection would depend on the variables
        grouped, deferred, _ = self.collect_subfields(object_type, field_details_list)
        if deferred:
            return None
        definition = object_type.extensions.get("strawberry-definition")
        if definition is None:
            return None
        fields = []
        for response_key, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                fields.append((response_key, _constant(object_type.name), _same))
                continue
            field = object_type.fields.get(name)
            if field is None or not getattr(field.resolve, "_is_default", False) or \
                    any(d.node.arguments or d.node.directives for d in details):
                return None
            complete = self._compile(field.type, details)
            if complete is None:
                return None
            fields.append((response_key, _reader(field), complete))
        return _nullable(_object_of(definition.origin, object_type.is_type_of, fields))


def _has_directives(selection_set: SelectionSetNode | None, fragments: dict, seen: frozenset = frozenset()) -> bool:
    """Whether any selection below (through fragments) carries a directive (@include, @skip, @defer, ...)."""
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if selection.directives:
            return True
        if isinstance(selection, FieldNode | InlineFragmentNode):
            if _has_directives(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            fragment = fragments.get(selection.name.value)
            if fragment is None or fragment.definition.directives or \
                    _has_directives(fragment.definition.selection_set, fragments, seen | {selection.name.value}):
                return True
    return False


def _non_null(inner: Completer) -> Completer:
    def complete(value):
        completed = inner(value)
        if completed is None:
            raise _GiveUp
        return completed
    return complete


def _nullable(inner: Completer) -> Completer:
    def complete(value):
        return None if value is None or value is Undefined else inner(value)
    return complete


def _list_of(item: Completer) -> Completer:
    def complete(value):
        if not isinstance(value, list | tuple):
            raise _GiveUp
        return [item(v) for v in value]
    return complete


def _leaf(leaf_type: GraphQLLeafType) -> Completer:
    coerce = leaf_type.coerce_output_value

    def complete(value):
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _GiveUp
        return coerced
    return complete


def _reader(field) -> Callable:
    """How the field's value is read from its object: the attribute itself when strawberry would read it with
    plain ``getattr`` (three calls fewer per field), else strawberry's basic resolver."""
    definition = field.extensions.get("strawberry-definition")
    if definition is not None and definition.default_resolver is getattr:
        return attrgetter(definition.python_name)
    resolve = field.resolve
    return lambda source: resolve(source, None)


def _constant(value) -> Callable:
    return lambda _source: value


def _same(value):
    return value


def _object_of(origin: type, is_type_of, fields: list[tuple[str, Callable[[Any], Any], Completer]]) -> Completer:
    def complete(value):
        if not isinstance(value, origin) or (is_type_of is not None and not is_type_of(value, None)):
            raise _GiveUp
        return {key: complete_field(read(value)) for key, read, complete_field in fields}
    return complete
