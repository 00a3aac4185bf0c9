"""Pieces of OData table queries built with the SDK's @parameters."""

from __future__ import annotations

from collections.abc import Sequence


def one_of(column: str, values: Sequence[str]) -> tuple[str, dict[str, str]]:
    """``( column eq @v0 or column eq @v1 … )`` and its parameters; ``values`` non-empty."""
    clauses = " or ".join(f"{column} eq @{column}{index}" for index in range(len(values)))
    params = {f"{column}{index}": value for index, value in enumerate(values)}
    # Spaces inside the parentheses: the SDK finds @parameters by splitting on spaces.
    return f"( {clauses} )", params
