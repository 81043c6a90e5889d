"""Reading policy files: YAML in, a validated :class:`Policy` out, or errors at file:line.

PyYAML's node tree keeps the line and column of every key and value; validation errors
(pydantic's locations, and the policy's own cross-reference checks) are mapped back to the
nearest node so an error reads ``gdpr.yaml:14:9: rules[0].entities.EMAIL.operator: ...``.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from policies.policy import Policy

MAX_POLICY_BYTES = 1024 * 1024
SUFFIXES = (".yaml", ".yml")


class PolicyError(ValueError):
    """A policy that cannot be used; ``problems`` are (line, column, field path, message)."""

    def __init__(self, source: str, problems: list[tuple[int, int, str, str]]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.source}:{line}:{col}: {path + ': ' if path else ''}{message}"
                for line, col, path, message in self.problems]

    def as_details(self) -> list[dict]:
        return [{"file": self.source, "line": line, "column": col, "field": path, "message": message}
                for line, col, path, message in self.problems]


def _positions(node: yaml.Node, path: tuple, out: dict) -> object:
    """The plain value of ``node``; ``out[path] = (line, column)`` for it and every child (1-based)."""
    out[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        value = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in value:
                raise PolicyError("", [(key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                        _dotted(path + (key,)), "duplicate key")])
            value[key] = _positions(value_node, path + (key,), out)
        return value
    if isinstance(node, yaml.SequenceNode):
        return [_positions(item, path + (i,), out) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> object:
    # The composer already resolved the tag (int, bool, str, ...); construct just this node.
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _locate(loc: tuple, data: object, positions: dict) -> tuple[tuple, tuple[int, int]]:
    """The data path pydantic's ``loc`` points at (union tags skipped) and its position."""
    path: tuple = ()
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(node, dict) and part == node.get("operator"):
            continue  # the tag of a discriminated union, not a key of the file
        elif isinstance(node, dict) and isinstance(part, str) and part != "[key]":
            # A missing field: report it at its parent, named in the path.
            return path + (part,), positions.get(path, (1, 1))
        else:
            continue
        path += (part,)
    return path, positions.get(path, (1, 1))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate a policy document; raises :class:`PolicyError` naming the source, line and field."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyError(source, [(1, 1, "", f"larger than {MAX_POLICY_BYTES} bytes")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PolicyError(source, [(mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, "",
                                    f"not valid YAML: {exc.problem or exc.context}")]) from None
    if node is None:
        raise PolicyError(source, [(1, 1, "", "the file is empty")])
    positions: dict = {}
    try:
        data = _positions(node, (), positions)
    except PolicyError as exc:
        raise PolicyError(source, exc.problems) from None
    if not isinstance(data, dict):
        raise PolicyError(source, [(1, 1, "", "a policy is a mapping with name and rules")])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            path, (line, col) = _locate(error["loc"], data, positions)
            problems.append((line, col, _dotted(path), error["msg"].removeprefix("Value error, ")))
        raise PolicyError(source, sorted(set(problems))) from None
    problems = []
    for loc, message in policy.problems():
        path, (line, col) = _locate(loc, data, positions)
        problems.append((line, col, _dotted(path), message))
    if problems:
        raise PolicyError(source, problems)
    return policy


def load_policy(path: Path) -> Policy:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(path), [(1, 1, "", f"cannot read the file: {exc}")]) from None
    return parse_policy(text, str(path))


def policy_files(paths: list[Path]) -> list[Path]:
    """Files, and the *.yaml / *.yml files of folders, in a stable order."""
    found = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise PolicyError(str(path), [(1, 1, "", "no such file or folder")])
    return found
