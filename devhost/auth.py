"""Function-key checks for HTTP triggers. Pure: the key and the request parts are passed in."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"


def is_authorized(
    auth_level: str, headers: Mapping[str, str], query: Mapping[str, str], api_key: str
) -> bool:
    """Whether a request may call a function of ``auth_level``.

    ANONYMOUS is open; FUNCTION and ADMIN need ``api_key`` in the
    ``x-functions-key`` header or the ``code`` query parameter. With no key
    configured nothing but ANONYMOUS is reachable: fail closed, never open.
    """
    if auth_level.upper() == "ANONYMOUS":
        return True
    if not api_key:
        return False
    header = next((v for k, v in headers.items() if k.lower() == KEY_HEADER), None)
    offered = header if header is not None else query.get(KEY_QUERY, "")
    # compare_digest on bytes: constant time, and no TypeError on non-ASCII keys.
    return hmac.compare_digest(offered.encode(), api_key.encode())
