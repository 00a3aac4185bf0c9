"""Run ids: short, unique, valid in an image tag, like ACR's ``ca1``.

An id is a prefix plus a base-36 sequence number handed out by a counter in
Table storage. The table's row key is derived from the number so that a plain
ascending scan lists the newest run first.
"""

from __future__ import annotations

import string

from shared.errors import NotFound

PREFIX = "dd"
_DIGITS = string.digits + string.ascii_lowercase
_ROW_KEY_SPAN = 10**13


def format_run_id(sequence: int) -> str:
    if sequence < 1:
        raise ValueError("run sequence numbers start at 1")
    digits = ""
    while sequence:
        sequence, rest = divmod(sequence, 36)
        digits = _DIGITS[rest] + digits
    return PREFIX + digits


def parse_run_id(run_id: str) -> int:
    """The sequence number inside ``run_id``; NotFound for anything that is not one."""
    body = run_id[len(PREFIX) :] if run_id.startswith(PREFIX) else ""
    if not body or len(body) > 8 or body[0] == "0" or any(c not in _DIGITS for c in body):
        raise NotFound(f"run {run_id!r} not found")
    return int(body, 36)


def row_key_for(sequence: int) -> str:
    """Inverted and zero-padded so that newer runs sort first."""
    return f"{_ROW_KEY_SPAN - sequence:013d}"
