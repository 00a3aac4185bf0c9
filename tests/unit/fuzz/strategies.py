"""What every fuzz test shares: hostile JSON, hostile text, and the refusal rule.

The rule: a parser returns, or raises its documented refusal (InvalidRequest,
or Unauthorized/PayloadTooLarge where the contract says so) with a message a
user can act on. Anything else would escape an HTTP function as a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import strategies as st

from shared.errors import DrydockError, InvalidRequest

T = TypeVar("T")

# Text that breaks naive parsers: controls, NUL, surrogate-free astral characters,
# separators of URLs, templates, shell words and YAML.
hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("\x00\n\r\t /\\:@#?&=%{}[].*$'\"`-~^|<>!;,+")),
    ),
    max_size=60,
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    hostile_text,
)

json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=20,
)


def objects_with(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects using the parser's own field names (so the checks past the
    first one are reached), each with a plausible or a hostile value, plus strays."""
    optional = {name: st.one_of(strategy, json_values) for name, strategy in fields.items()}
    known = st.fixed_dictionaries({}, optional=optional)
    strays = st.dictionaries(hostile_text, json_values, max_size=1)
    return st.tuples(known, strays).map(lambda pair: {**pair[1], **pair[0]})


def as_body(value: Any) -> bytes:
    return json.dumps(value).encode()


def parsed_or_refused(
    parse: Callable[..., T],
    *args: Any,
    refusals: tuple[type[DrydockError], ...] = (InvalidRequest,),
) -> T | None:
    """``parse(*args)``, or None when it refused with a non-empty reason."""
    try:
        return parse(*args)
    except refusals as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a reason"
        return None


def deeply_nested(depth: int = 100_000) -> bytes:
    """JSON nested past the interpreter's recursion limit."""
    return b"[" * depth + b"]" * depth
