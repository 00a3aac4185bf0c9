"""Run variables rendered into task fields the way ACR does (``{{.Run.ID}}``).

Only plain variable lookups are supported, not Go template functions. An unknown
variable is an error rather than an empty string, because ``app:{{.Run.Id}}``
silently becoming ``app:`` would push an image nobody asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from shared.errors import InvalidRequest

# Go's reference-time layout ACR uses for Run.Date: 20060102-150405z.
_RUN_DATE_FORMAT = "%Y%m%d-%H%M%Sz"
_OPEN, _CLOSE = "{{", "}}"
_VARIABLE = re.compile(r"\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)")


def run_variables(
    *,
    run_id: str,
    registry: str,
    now: datetime,
    commit: str = "",
    branch: str = "",
    task_name: str = "quickrun",
    os_name: str = "linux",
    architecture: str = "amd64",
    values: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables a run's templates may use; ``now`` without a zone is taken as UTC."""
    variables = {
        "Run.ID": run_id,
        "Run.Registry": registry,
        "Run.RegistryName": registry_name(registry),
        "Run.Date": _as_utc(now).strftime(_RUN_DATE_FORMAT),
        "Run.Commit": commit,
        "Run.Branch": branch,
        "Run.TaskName": task_name,
        "Run.OS": os_name,
        "Run.Architecture": architecture,
    }
    variables.update({f"Values.{key}": value for key, value in (values or {}).items()})
    return variables


def registry_name(registry: str) -> str:
    """First DNS label of the registry host: ``myreg.azurecr.io`` -> ``myreg``."""
    host = registry.split("/", 1)[0]
    if host.startswith("["):  # an IPv6 literal has no labels; keep the address
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0].split(".", 1)[0]


def render_template(text: str, variables: Mapping[str, str]) -> str:
    """Replace each ``{{.Name}}`` (spaces allowed inside the braces) with its value."""
    rendered: list[str] = []
    position = 0
    while (start := text.find(_OPEN, position)) != -1:
        end = text.find(_CLOSE, start + len(_OPEN))
        if end == -1:
            raise InvalidRequest(
                f"unclosed '{{{{' in {text!r}; close it with '}}}}' as in {{{{.Run.ID}}}}"
            )
        expression = text[start + len(_OPEN) : end]
        rendered.append(text[position:start])
        rendered.append(_lookup(expression, variables))
        position = end + len(_CLOSE)
    rendered.append(text[position:])
    return "".join(rendered)


def _lookup(expression: str, variables: Mapping[str, str]) -> str:
    match = _VARIABLE.fullmatch(expression.strip())
    if match is None:
        raise InvalidRequest(
            f"unsupported template {{{{{expression}}}}}; only variables such as "
            "{{.Run.ID}} or {{.Values.name}} can be used"
        )
    name = match.group(1)
    if name not in variables:
        known = ", ".join(f"{{{{.{key}}}}}" for key in sorted(variables))
        raise InvalidRequest(f"unknown variable {{{{.{name}}}}}; known: {known}")
    return variables[name]


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
