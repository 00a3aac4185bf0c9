"""Base-image discovery: which images a Dockerfile builds on.

The runtime image (behind the final or ``--target`` stage) and the build-time images
(other stages' bases, ``COPY --from=<image>``, ``RUN --mount=from=<image>``) are what
base-image-update triggers watch. Images are returned as written after build-arg
substitution; callers normalise them with ``shared.image_ref``.

Stages up to the target are all counted, as the classic builder builds them; BuildKit
may skip unused ones, which only makes an extra rebuild possible, never a missed one.
"""

from __future__ import annotations

import io
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from dockerfile_parse import DockerfileParser

from shared.errors import InvalidRequest
from shared.image_ref import parse_image_ref

SCRATCH = "scratch"
# BuildKit defines these in the global scope; without the real platform we assume the
# common one, and a caller that knows better passes them as build args.
AUTOMATIC_PLATFORM_ARGS: Mapping[str, str] = {
    "BUILDPLATFORM": "linux/amd64",
    "BUILDOS": "linux",
    "BUILDARCH": "amd64",
    "TARGETPLATFORM": "linux/amd64",
    "TARGETOS": "linux",
    "TARGETARCH": "amd64",
}
KNOWN_INSTRUCTIONS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)
_STAGE_NAME = re.compile(r"[a-z][a-z0-9_.-]*")
_ARG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?", re.DOTALL)
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclass(frozen=True)
class DockerfileDeps:
    """Images a Dockerfile depends on (as written, after substitution)."""

    runtime: str | None
    buildtime: tuple[str, ...]


@dataclass(frozen=True)
class _Instruction:
    keyword: str
    value: str
    line: int  # 1-based, for messages


@dataclass
class _Stage:
    name: str | None
    base: str  # an image, "scratch", or an earlier stage's name
    parent: int | None  # index of the earlier stage it builds on
    line: int
    images: list[str] = field(default_factory=list)  # COPY --from / RUN --mount=from


def discover_base_images(
    dockerfile: str,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
) -> DockerfileDeps:
    """The runtime image and build-time images of ``dockerfile``."""
    build_args = dict(build_args or {})
    instructions = _instructions(dockerfile)
    stages = _stages(instructions, build_args)
    final = _final_stage(stages, target)
    runtime = _runtime_image(stages, final)
    seen: dict[str, None] = {}
    for stage in stages[: final + 1]:
        if stage.parent is None:
            seen.setdefault(stage.base)
        seen.update(dict.fromkeys(stage.images))
    buildtime = tuple(image for image in seen if image not in (SCRATCH, runtime))
    return DockerfileDeps(runtime=runtime, buildtime=buildtime)


def _error(line: int, problem: str) -> InvalidRequest:
    return InvalidRequest(f"Dockerfile line {line}: {problem}")


def _instructions(dockerfile: str) -> list[_Instruction]:
    """Parsed instructions in order, without comments and heredoc bodies."""
    if not isinstance(dockerfile, str):
        raise InvalidRequest("the Dockerfile must be text")
    dockerfile = dockerfile.removeprefix("\ufeff")  # Docker ignores a byte-order mark
    parser = DockerfileParser(fileobj=io.StringIO(dockerfile), env_replace=False)
    raw_lines = dockerfile.split("\n")
    items = sorted(parser.structure, key=lambda item: item["startline"])
    result: list[_Instruction] = []
    skip_through = -1  # last line of the latest heredoc body
    for item in items:
        if item["startline"] <= skip_through or item["instruction"] == "COMMENT":
            continue
        found = _Instruction(item["instruction"], item["value"], item["startline"] + 1)
        if found.keyword not in KNOWN_INSTRUCTIONS:
            raise _error(found.line, f"unknown instruction {found.keyword!r}")
        skip_through = _heredoc_end(found, raw_lines, item["endline"])
        result.append(found)
    return result


def _heredoc_end(instruction: _Instruction, raw_lines: list[str], endline: int) -> int:
    """Index of the last heredoc terminator of ``instruction`` (-1 when it has none).

    dockerfile_parse predates heredocs and would read their bodies as instructions.
    A ``<<WORD`` without a terminator line is left alone: it is then shell text, such
    as ``echo "a<<b"``, not a heredoc.
    """
    if instruction.keyword not in ("RUN", "COPY", "ADD"):
        return -1
    last = -1
    for strip_tabs, _, word in _HEREDOC.findall(instruction.value):
        for position in range(max(endline, last) + 1, len(raw_lines)):
            candidate = raw_lines[position].rstrip("\r")
            if (candidate.lstrip("\t") if strip_tabs else candidate) == word:
                last = position
                break
    return last


def _stages(instructions: list[_Instruction], build_args: dict[str, str]) -> list[_Stage]:
    meta_args: dict[str, str] = {
        k: build_args.get(k, v) for k, v in AUTOMATIC_PLATFORM_ARGS.items()
    }
    stages: list[_Stage] = []
    stage_args: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword == "FROM":
            stages.append(_parse_from(instruction, meta_args, stages))
            stage_args = {}
        elif not stages and instruction.keyword != "ARG":
            raise _error(instruction.line, "only ARG may come before the first FROM")
        elif instruction.keyword == "ARG":
            scope = stage_args if stages else meta_args
            _declare_args(instruction, scope, meta_args if stages else {}, build_args)
        elif instruction.keyword in ("COPY", "RUN"):
            stages[-1].images.extend(_image_sources(instruction, stage_args, stages))
    if not stages:
        raise InvalidRequest("the Dockerfile has no FROM instruction; start a stage with FROM")
    return stages


def _declare_args(
    instruction: _Instruction,
    scope: dict[str, str],
    inherited: Mapping[str, str],
    build_args: Mapping[str, str],
) -> None:
    """``ARG NAME[=default] ...``: a build arg overrides the default, as in Docker."""
    try:
        words = shlex.split(instruction.value)
    except ValueError as exc:
        raise _error(instruction.line, f"ARG has unbalanced quotes ({exc})") from exc
    if not words:
        raise _error(instruction.line, "ARG needs a name, e.g. ARG VERSION=1.0")
    for word in words:
        name, has_default, default = word.partition("=")
        if not _ARG_NAME.fullmatch(name):
            raise _error(instruction.line, f"{name!r} is not a valid ARG name")
        if name in build_args:
            scope[name] = build_args[name]
        elif has_default:
            scope[name] = substitute(default, scope, instruction.line)
        elif name in inherited:
            scope[name] = inherited[name]


def _parse_from(
    instruction: _Instruction, meta_args: Mapping[str, str], stages: list[_Stage]
) -> _Stage:
    words = [word for word in instruction.value.split() if word]
    while words and words[0].startswith("--"):
        words.pop(0)  # --platform only picks a variant of the same image
    if len(words) == 3 and words[1].lower() == "as":
        name = _stage_name(instruction.line, words[2], stages)
    elif len(words) == 1:
        name = None
    else:
        raise _error(instruction.line, "write FROM [--platform=…] <image> [AS <name>]")
    base = substitute(words[0], meta_args, instruction.line)
    parent = _stage_index(base, stages)
    if parent is None and base != SCRATCH:
        _check_image(instruction.line, words[0], base)
    return _Stage(name=name, base=base, parent=parent, line=instruction.line)


def _stage_name(line: int, written: str, stages: list[_Stage]) -> str:
    name = written.lower()
    if not _STAGE_NAME.fullmatch(name):
        raise _error(line, f"invalid stage name {written!r}; use letters, digits, '-', '_', '.'")
    if any(stage.name == name for stage in stages):
        raise _error(line, f"duplicate stage name {written!r}; give each stage its own name")
    return name


def _stage_index(reference: str, stages: list[_Stage]) -> int | None:
    lowered = reference.lower()
    for index, stage in enumerate(stages):
        if stage.name == lowered:
            return index
    return None


def _check_image(line: int, written: str, image: str) -> None:
    if not image:
        raise _error(
            line,
            f"{written!r} is empty after substitution; declare the ARG with a default "
            "before the first FROM or pass it as a build arg",
        )
    try:
        parse_image_ref(image)
    except InvalidRequest as exc:
        raise _error(line, str(exc)) from exc


def _image_sources(
    instruction: _Instruction, stage_args: Mapping[str, str], stages: list[_Stage]
) -> list[str]:
    """Images (not stages) named by ``COPY --from=`` or ``RUN --mount=...,from=``."""
    flags = _leading_flags(instruction.value)
    if instruction.keyword == "COPY":
        sources = [_flag_value(word, "--from=") for word in flags]
    else:
        mounts = [_flag_value(word, "--mount=") for word in flags]
        sources = [_mount_source(mount) for mount in mounts if mount is not None]
    images: list[str] = []
    for written in filter(None, sources):
        source = substitute(written, stage_args, instruction.line)
        # An empty --from means "from the context", as Docker reads an empty flag.
        if source and not _is_stage_reference(instruction.line, source, stages):
            _check_image(instruction.line, written, source)
            images.append(source)
    return images


def _leading_flags(value: str) -> list[str]:
    flags: list[str] = []
    for word in value.split():
        if not word.startswith("--"):
            break
        flags.append(word)
    return flags


def _flag_value(word: str, prefix: str) -> str | None:
    return word[len(prefix) :] if word.lower().startswith(prefix) else None


def _mount_source(mount: str) -> str | None:
    for option in mount.split(","):
        key, _, value = option.partition("=")
        if key.strip().lower() == "from":
            return value.strip()
    return None


def _is_stage_reference(line: int, source: str, stages: list[_Stage]) -> bool:
    if source.isdigit():
        if int(source) >= len(stages) - 1:
            raise _error(line, f"--from={source} names no earlier stage (stages count from 0)")
        return True
    return _stage_index(source, stages[:-1]) is not None


def _final_stage(stages: list[_Stage], target: str | None) -> int:
    if target is None:
        return len(stages) - 1
    index = _stage_index(target, stages)
    if index is None:
        names = ", ".join(stage.name for stage in stages if stage.name) or "none"
        raise InvalidRequest(
            f"the target stage {target!r} is not in the Dockerfile; stages: {names}"
        )
    return index


def _runtime_image(stages: list[_Stage], index: int) -> str | None:
    stage = stages[index]
    while stage.parent is not None:
        stage = stages[stage.parent]
    return None if stage.base == SCRATCH else stage.base


def substitute(text: str, variables: Mapping[str, str], line: int) -> str:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:-word}``, ``${VAR-word}``, ``${VAR:+word}``."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and text.startswith("$", index + 1):
            out.append("$")
            index += 2
        elif char == "$" and text.startswith("{", index + 1):
            end = _closing_brace(text, index + 2, line)
            out.append(_expand_braced(text[index + 2 : end], variables, line))
            index = end + 1
        elif char == "$" and (bare := _BARE.match(text, index + 1)):
            out.append(variables.get(bare.group(), ""))
            index = bare.end()
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _closing_brace(text: str, start: int, line: int) -> int:
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    raise _error(line, f"unclosed '${{' in {text!r}")


def _expand_braced(inner: str, variables: Mapping[str, str], line: int) -> str:
    match = _BRACED.fullmatch(inner)
    if match is None:
        raise _error(
            line, f"unsupported substitution ${{{inner}}}; use ${{VAR}}, ${{VAR:-default}}"
        )
    name, operator, word = match.groups()
    value = variables.get(name)
    if operator is None:
        return value or ""
    is_set = value is not None and (value != "" or not operator.startswith(":"))
    if operator.endswith("-"):
        return value if is_set and value is not None else substitute(word, variables, line)
    return substitute(word, variables, line) if is_set else ""
