"""Route templates as the Functions host (ASP.NET Core routing) reads them.

Pure: a template compiles to a regular expression once; matching a path gives
the route parameters, URL-decoded. Supported forms: ``runs/{runId}``,
constraints ``{id:int}`` (int, long, alpha, bool, guid, double, float, decimal,
datetime, regex(...); others accepted and not checked), optional ``{name?}``,
defaults ``{name=value}`` and catch-all ``{*rest}``. Literals match
case-insensitively, as in ASP.NET.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import unquote

T = TypeVar("T")

_CONSTRAINTS: Mapping[str, str] = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
    "guid": r"\{?[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}\}?",
    "double": r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
    "float": r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
    "datetime": r"\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+)?",
}
# Sort keys by segment kind: ASP.NET prefers literals over constrained
# parameters over plain ones over optional ones over catch-alls.
_LITERAL, _CONSTRAINED, _PLAIN, _OPTIONAL, _CATCH_ALL = range(5)


class RouteError(ValueError):
    """A route template that cannot be compiled."""


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    pattern: re.Pattern[str]
    defaults: Mapping[str, str]
    precedence: tuple[int, ...]

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters of ``path`` (no prefix, no query), or None."""
        found = self.pattern.fullmatch(path.strip("/"))
        if found is None:
            return None
        values = {name: unquote(value) for name, value in found.groupdict().items() if value}
        return {**self.defaults, **values}


def compile_route(template: str) -> RouteTemplate:
    """Compile a route template; raises RouteError when it is malformed."""
    segments = [s for s in template.strip("/").split("/") if s != ""]
    parts: list[str] = []
    defaults: dict[str, str] = {}
    precedence: list[int] = []
    for index, segment in enumerate(segments):
        regex, kind = _compile_segment(template, segment, defaults)
        if kind == _CATCH_ALL and index != len(segments) - 1:
            raise RouteError(f"route {template!r}: a catch-all must be the last segment")
        separator = "/" if parts else ""
        if kind in (_OPTIONAL, _CATCH_ALL):
            parts.append(f"(?:{separator}{regex})?")
        else:
            parts.append(f"{separator}{regex}")
        precedence.append(kind)
    try:
        pattern = re.compile("".join(parts), re.IGNORECASE)
    except re.error as exc:
        raise RouteError(f"route {template!r}: {exc}") from exc
    return RouteTemplate(template, pattern, defaults, tuple(precedence))


def _compile_segment(template: str, segment: str, defaults: dict[str, str]) -> tuple[str, int]:
    kinds = [_LITERAL]
    pieces: list[str] = []
    for is_parameter, text in _tokens(template, segment):
        if is_parameter:
            regex, kind = _compile_parameter(template, text, defaults)
            pieces.append(regex)
            kinds.append(kind)
        else:
            pieces.append(re.escape(text))
    return "".join(pieces), max(kinds)


def _tokens(template: str, segment: str) -> list[tuple[bool, str]]:
    """Literal and parameter pieces of a segment; ``{{`` and ``}}`` escape braces."""
    tokens: list[tuple[bool, str]] = []
    literal, i = "", 0
    while i < len(segment):
        pair = segment[i : i + 2]
        if pair in ("{{", "}}"):
            literal, i = literal + pair[0], i + 2
        elif segment[i] == "{":
            body, i = _parameter_body(template, segment, i + 1)
            tokens += [(False, literal), (True, body)]
            literal = ""
        elif segment[i] == "}":
            raise RouteError(f"route {template!r}: unbalanced braces in {segment!r}")
        else:
            literal, i = literal + segment[i], i + 1
    return [*tokens, (False, literal)]


def _parameter_body(template: str, segment: str, i: int) -> tuple[str, int]:
    body = ""
    while i < len(segment):
        pair = segment[i : i + 2]
        if pair in ("{{", "}}"):
            body, i = body + pair[0], i + 2
        elif segment[i] == "}":
            return body, i + 1
        elif segment[i] == "{":
            break
        else:
            body, i = body + segment[i], i + 1
    raise RouteError(f"route {template!r}: unbalanced braces in {segment!r}")


def _compile_parameter(template: str, body: str, defaults: dict[str, str]) -> tuple[str, int]:
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    optional = body.endswith("?")
    body = body.rstrip("?")
    body, _, default = body.partition("=")
    name, *constraints = _split_constraints(body)
    if not name.isidentifier():
        raise RouteError(f"route {template!r}: bad parameter name {name!r}")
    if default:
        defaults[name] = default
    value = _constraint_regex(constraints, ".+" if catch_all else "[^/]+")
    if catch_all:
        return f"(?P<{name}>{value})", _CATCH_ALL
    if optional or default:
        return f"(?P<{name}>{value})", _OPTIONAL
    return f"(?P<{name}>{value})", _CONSTRAINED if constraints else _PLAIN


def _split_constraints(body: str) -> list[str]:
    # ':' inside regex(...) belongs to the regex, not to the constraint list.
    pieces, depth, current = [], 0, ""
    for char in body:
        depth += (char == "(") - (char == ")")
        if char == ":" and depth == 0:
            pieces.append(current)
            current = ""
        else:
            current += char
    return [*pieces, current]


def _constraint_regex(constraints: list[str], fallback: str) -> str:
    for constraint in constraints:
        if constraint.startswith("regex(") and constraint.endswith(")"):
            return f"(?:{constraint[6:-1].lstrip('^').rstrip('$')})"
        if constraint.lower() in _CONSTRAINTS:
            return _CONSTRAINTS[constraint.lower()]
    return fallback


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    target: T | None
    route_params: dict[str, str]
    allowed_methods: frozenset[str]


@dataclass
class RouteTable(Generic[T]):
    """Routes tried in ASP.NET precedence; methods ``None`` means any method."""

    _routes: list[tuple[RouteTemplate, frozenset[str] | None, T]] = field(default_factory=list)

    def add(self, template: str, methods: Iterable[str] | None, target: T) -> None:
        allowed = None if methods is None else frozenset(m.upper() for m in methods)
        self._routes.append((compile_route(template), allowed, target))
        self._routes.sort(key=lambda entry: entry[0].precedence)

    def resolve(self, method: str, path: str) -> RouteMatch[T] | None:
        """The target for ``method`` on ``path``; a match without target means 405.

        None when no template matches the path at all (404).
        """
        allowed: set[str] = set()
        for route, methods, target in self._routes:
            params = route.match(path)
            if params is None:
                continue
            if methods is None or method.upper() in methods:
                return RouteMatch(target, params, frozenset())
            allowed |= methods
        return RouteMatch(None, {}, frozenset(allowed)) if allowed else None
