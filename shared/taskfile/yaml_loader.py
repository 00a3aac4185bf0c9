"""A safe YAML loader for task files: line numbers kept, bombs refused early.

PyYAML's SafeLoader shares an anchored node between its aliases, so loading a
"billion laughs" file is cheap, but anything that later walks the tree (alias
substitution, validation, JSON) pays for every expansion. We therefore measure
the expanded size of the composed node graph before constructing anything and
refuse it past a bound. Mappings keep the line of each key, so validation can
say where a fault is, and duplicate keys are refused as Go's yaml.v2 does.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from shared.errors import InvalidRequest

MAX_EXPANDED_NODES = 20_000
"""Nodes a task file may hold once aliases are expanded; real files have hundreds."""
MAX_DEPTH = 64
MAX_TEXT_BYTES = 1024 * 1024


class LineMap(dict[str, Any]):
    """A YAML mapping that remembers the 1-based line of the mapping and its keys."""

    def __init__(self, *args: Any, line: int = 0, key_lines: dict[str, int] | None = None) -> None:
        super().__init__(*args)
        self.line = line
        self.key_lines: dict[str, int] = dict(key_lines or {})

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _BoundedLoader(yaml.SafeLoader):
    def compose_document(self) -> Node | None:
        node = super().compose_document()
        if node is not None:
            _check_expanded_size(node)
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        result = LineMap(line=node.start_mark.line + 1)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise InvalidRequest(f"line {key_node.start_mark.line + 1}: keys must be text")
            if key in result:
                raise InvalidRequest(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            result[key] = self.construct_object(value_node, deep=True)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result


_BoundedLoader.add_constructor("tag:yaml.org,2002:map", _BoundedLoader.construct_mapping)


def load_yaml(text: str) -> Any:
    """The one YAML document in ``text``; InvalidRequest for anything else."""
    if len(text.encode("utf-8", errors="replace")) > MAX_TEXT_BYTES:
        raise InvalidRequest(f"the task file is larger than {MAX_TEXT_BYTES} bytes")
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise InvalidRequest(
            f"line {line}: the task file is not valid YAML: {exc.problem}"
        ) from None
    except yaml.YAMLError as exc:
        raise InvalidRequest(f"the task file is not valid YAML: {exc}") from None
    except (RecursionError, ValueError, OverflowError) as exc:
        raise InvalidRequest(f"the task file cannot be read: {type(exc).__name__}") from None


def _check_expanded_size(root: Node) -> None:
    """Count nodes as if every alias were copied out; memoised, so linear."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: Node, depth: int) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if depth > MAX_DEPTH or id(node) in visiting:
            raise InvalidRequest(_where(node, "nests too deep or refers to itself"))
        visiting.add(id(node))
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        visiting.discard(id(node))
        if total > MAX_EXPANDED_NODES:
            raise InvalidRequest(_where(node, "expands to too many nodes (anchors and aliases)"))
        sizes[id(node)] = total
        return total

    size(root, 0)


def _where(node: Node, problem: str) -> str:
    return f"line {node.start_mark.line + 1}: the task file {problem}"
