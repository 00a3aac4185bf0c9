"""Reading request bodies under the host's size limit, without trusting the client."""

from __future__ import annotations

from typing import Protocol

MAX_BODY_BYTES = 100 * 1024 * 1024
"""The Functions host refuses request bodies over 100 MB with 413."""
_MAX_LINE = 64 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


class BodyTooLarge(Exception):
    """The body is over the limit; nothing more of it should be read."""


class MalformedBody(Exception):
    """A bad Content-Length or chunked framing."""


def content_length(header: str | None) -> int | None:
    """The declared length, None when absent; MalformedBody when not a number."""
    if header is None:
        return None
    value = header.strip()
    if not value.isdigit():
        raise MalformedBody(f"bad Content-Length {header!r}")
    return int(value)


def read_body(
    rfile: Readable, length: int | None, chunked: bool, limit: int = MAX_BODY_BYTES
) -> bytes:
    if chunked:
        return read_chunked(rfile, limit)
    if not length:
        return b""
    if length > limit:
        raise BodyTooLarge
    body = rfile.read(length)
    if len(body) != length:
        raise MalformedBody("connection closed before the whole body arrived")
    return body


def read_chunked(rfile: Readable, limit: int = MAX_BODY_BYTES) -> bytes:
    """Decode a chunked body, failing as soon as it passes ``limit``."""
    body = bytearray()
    while True:
        size = _chunk_size(rfile.readline(_MAX_LINE))
        if size == 0:
            break
        if len(body) + size > limit:
            raise BodyTooLarge
        chunk = rfile.read(size)
        if len(chunk) != size or rfile.readline(_MAX_LINE).strip():
            raise MalformedBody("chunk shorter than announced")
        body += chunk
    while rfile.readline(_MAX_LINE).strip():
        pass  # trailers carry nothing a function sees
    return bytes(body)


def _chunk_size(line: bytes) -> int:
    try:
        return int(line.split(b";", 1)[0].strip(), 16)
    except ValueError:
        raise MalformedBody(f"bad chunk size line {line[:40]!r}") from None
