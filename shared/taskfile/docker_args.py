"""The argument strings of ``build`` and ``cmd`` steps, as ``docker`` reads them."""

from __future__ import annotations

import shlex

from shared.errors import InvalidRequest
from shared.taskfile.model import DockerBuild

# Flags that take a value, by every spelling docker accepts.
_VALUED = {
    "-t": "tag", "--tag": "tag", "-f": "file", "--file": "file",
    "--build-arg": "build-arg", "--target": "target", "--platform": "platform",
    "--label": "label", "--isolation": "ignored", "--network": "ignored",
}  # fmt: skip
_SWITCHES = {
    "--no-cache": "no_cache",
    "--pull": "pull",
    "--rm": None,
    "--force-rm": None,
    "-q": None,
}


def split_arguments(text: str, line: int, what: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise InvalidRequest(f"line {line}: the {what} arguments cannot be read: {exc}") from None


def parse_build_arguments(text: str, line: int) -> DockerBuild:
    """``-t app:v1 -f Dockerfile --build-arg X=1 .`` → DockerBuild; the context last."""
    args = split_arguments(text, line, "build")
    values: dict[str, list[str]] = {}
    switches: set[str] = set()
    positional: list[str] = []
    index = 0
    while index < len(args):
        flag, _, inline = args[index].partition("=")
        if flag in _VALUED:
            value, index = _value_of(args, index, inline, flag, line)
            values.setdefault(_VALUED[flag], []).append(value)
        elif args[index] in _SWITCHES:
            switches.add(args[index])
        elif args[index].startswith("-") and args[index] != "-":
            raise InvalidRequest(f"line {line}: build option {args[index]!r} is not supported")
        else:
            positional.append(args[index])
        index += 1
    if len(positional) != 1:
        raise InvalidRequest(
            f"line {line}: a build step needs exactly one context, last, such as '.'; "
            f"got {positional or 'none'}"
        )
    return _docker_build(positional[0], values, switches, line)


def _value_of(args: list[str], index: int, inline: str, flag: str, line: int) -> tuple[str, int]:
    if "=" in args[index]:
        return inline, index
    if index + 1 >= len(args):
        raise InvalidRequest(f"line {line}: build option {flag} needs a value")
    return args[index + 1], index + 1


def _docker_build(
    context: str, values: dict[str, list[str]], switches: set[str], line: int
) -> DockerBuild:
    def single(name: str) -> str | None:
        found = values.get(name, [])
        if len(found) > 1:
            raise InvalidRequest(f"line {line}: build option --{name} given more than once")
        return found[0] if found else None

    return DockerBuild(
        context=context,
        tags=tuple(values.get("tag", [])),
        dockerfile=single("file"),
        build_args=tuple(_build_arg(item, line) for item in values.get("build-arg", [])),
        target=single("target"),
        no_cache="--no-cache" in switches,
        platform=single("platform"),
        pull="--pull" in switches,
        labels=tuple(_label(item) for item in values.get("label", [])),
    )


def _build_arg(item: str, line: int) -> tuple[str, str | None]:
    name, sep, value = item.partition("=")
    if not name:
        raise InvalidRequest(f"line {line}: --build-arg {item!r} must look like NAME=value")
    return name, value if sep else None


def _label(item: str) -> tuple[str, str]:
    name, _, value = item.partition("=")
    return name, value
