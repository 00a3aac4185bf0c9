"""What ``drydock build`` sends, as pure functions of its options (no HTTP here).

A local folder goes as a gzipped tar body with the options as query parameters;
a URL goes as a JSON body. Field names are the outside contract's (DESIGN.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Git over ssh in scp form ("git@host:org/repo.git") has no scheme.
_SCP_GIT = re.compile(r"^[\w.-]+@[\w.-]+:")
_REMOTE_SCHEMES = ("http://", "https://", "git://", "ssh://", "git+ssh://")


class InvalidOption(ValueError):
    """An option's value is malformed; the message names it."""


def parse_key_value(text: str, option: str = "--build-arg") -> tuple[str, str]:
    """``K=V`` → ``(K, V)``; the value may be empty or contain ``=``."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InvalidOption(f"{option} expects KEY=VALUE, got {text!r}")
    if any(ch.isspace() for ch in key):
        raise InvalidOption(f"{option} key must not contain spaces, got {key!r}")
    return key, value


def parse_key_values(items: Iterable[str], option: str = "--build-arg") -> dict[str, str]:
    """Repeated ``K=V`` options into a dict; a later duplicate key wins, as in Docker."""
    return dict(parse_key_value(item, option) for item in items)


def is_remote_source(source: str) -> bool:
    """A Git URL (``…#ref:subfolder``) or an http(s) tarball rather than a local folder."""
    return source.lower().startswith(_REMOTE_SCHEMES) or bool(_SCP_GIT.match(source))


@dataclass(frozen=True)
class BuildOptions:
    images: tuple[str, ...] = ()
    file: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    secret_build_args: dict[str, str] = field(default_factory=dict)
    no_push: bool = False
    platform: str | None = None
    target: str | None = None
    timeout: int | None = None


def archive_query_params(options: BuildOptions) -> list[tuple[str, str]]:
    """Query parameters for the tar-body form; a list because ``image`` and ``buildArg`` repeat."""
    params: list[tuple[str, str]] = [("image", image) for image in options.images]
    if options.file:
        params.append(("file", options.file))
    params += [("buildArg", f"{k}={v}") for k, v in options.build_args.items()]
    params += [("secretBuildArg", f"{k}={v}") for k, v in options.secret_build_args.items()]
    if options.no_push:
        params.append(("noPush", "true"))
    if options.platform:
        params.append(("platform", options.platform))
    if options.target:
        params.append(("target", options.target))
    if options.timeout is not None:
        params.append(("timeout", str(options.timeout)))
    return params


def url_request_body(context: str, options: BuildOptions) -> dict[str, Any]:
    """JSON body for a remote context; unset options are left out so server defaults apply."""
    body: dict[str, Any] = {"context": context}
    if options.file:
        body["file"] = options.file
    if options.images:
        body["images"] = list(options.images)
    if options.build_args:
        body["buildArgs"] = dict(options.build_args)
    if options.secret_build_args:
        body["secretBuildArgs"] = dict(options.secret_build_args)
    if options.no_push:
        body["noPush"] = True
    if options.platform:
        body["platform"] = options.platform
    if options.target:
        body["target"] = options.target
    if options.timeout is not None:
        body["timeout"] = options.timeout
    return body
