"""Rendering a task file as ACR does: the Go-template variables over the text
first, then (from v1.1.0) ``$`` aliases over the parsed values.

Template variables work on the raw text, so a value may even add YAML; aliases
are applied to string values after parsing, so an alias never changes the
file's structure and an unknown ``$NAME`` (a shell variable in a ``cmd``) is
left as it is. ``$$`` is a literal ``$``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidRequest
from shared.taskfile import fields as f
from shared.taskfile.yaml_loader import LineMap
from shared.templating import render_template

ALIAS_VERSION = "v1.1.0"
DEFAULT_DIRECTIVE = "$"
# ACR's predefined image aliases; they only work where those images can be pulled.
IMAGE_ALIASES: Mapping[str, str] = {
    "acr": "mcr.microsoft.com/acr/acr-cli:0.5",
    "az": "mcr.microsoft.com/acr/azure-cli:7ee1d7f",
    "bash": "mcr.microsoft.com/acr/bash:7ee1d7f",
    "curl": "mcr.microsoft.com/acr/curl:7ee1d7f",
}
_RUN_ALIASES = {"ID": "Run.ID", "Registry": "Run.Registry", "RegistryName": "Run.RegistryName",
                "Date": "Run.Date", "OS": "Run.OS", "Architecture": "Run.Architecture",
                "Commit": "Run.Commit", "Branch": "Run.Branch"}  # fmt: skip
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


@dataclass(frozen=True)
class RenderInput:
    """What a task file may refer to; ``variables`` from ``shared.templating.run_variables``."""

    variables: Mapping[str, str]
    secrets: Mapping[str, str] = field(default_factory=dict)
    shared_volume: str = ""


def render_text(text: str, given: RenderInput) -> str:
    variables = {**given.variables, **{f"Secrets.{k}": v for k, v in given.secrets.items()}}
    return render_template(text, variables)


def apply_aliases(tree: Any, given: RenderInput) -> Any:
    """Replace aliases in every string value except the ``alias`` section itself."""
    if not isinstance(tree, LineMap) or str(tree.get("version")) != ALIAS_VERSION:
        return tree
    aliases, directive = _aliases(tree, given)
    pattern = re.compile(f"{re.escape(directive)}({re.escape(directive)}|{_NAME})")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == directive:
            return directive
        return aliases.get(name, match.group(0))

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(substitute, value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, LineMap):
            items = {key: walk(item) for key, item in value.items()}
            return LineMap(items, line=value.line, key_lines=value.key_lines)
        return value

    return walk(
        LineMap(
            {k: v for k, v in tree.items() if k != "alias"},
            line=tree.line,
            key_lines=tree.key_lines,
        )
    )


def _aliases(tree: LineMap, given: RenderInput) -> tuple[dict[str, str], str]:
    section = tree.get("alias") or LineMap()
    if not isinstance(section, LineMap):
        raise f.fail(tree.line_of("alias"), "alias must be an object with values and directive")
    f.check_keys(section, frozenset({"values", "directive", "src"}), "alias")
    directive = f.text(section, "directive", DEFAULT_DIRECTIVE) or DEFAULT_DIRECTIVE
    if len(directive) != 1 or directive.isalnum() or directive.isspace():
        raise f.fail(section.line_of("directive"), "alias directive must be one symbol like $")
    if section.get("src"):
        raise f.fail(section.line_of("src"), "alias src files are not supported; use values")
    aliases = dict(IMAGE_ALIASES)
    aliases.update({alias: given.variables.get(var, "") for alias, var in _RUN_ALIASES.items()})
    aliases["SharedVolume"] = given.shared_volume
    aliases.update(_user_values(section))
    return aliases, directive


def _user_values(section: LineMap) -> dict[str, str]:
    values = section.get("values") or {}
    if not isinstance(values, dict):
        raise f.fail(section.line_of("values"), "alias values must be an object of names to text")
    for name, value in values.items():
        if not re.fullmatch(_NAME, name) or isinstance(value, (list, dict, bool)) or value is None:
            line = values.line_of(name) if isinstance(values, LineMap) else section.line
            raise InvalidRequest(f"line {line}: alias {name!r} must be a name with a text value")
    return {name: str(value) for name, value in values.items()}
