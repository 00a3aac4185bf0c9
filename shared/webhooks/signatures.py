"""Webhook authenticity checks over the raw body, in constant time.

The signature is computed over the bytes as received: re-serialising parsed JSON
changes whitespace and key order and would never match.
"""

from __future__ import annotations

import hashlib
import hmac


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hmac_sha256(body: bytes, secret: str, signature: str, prefix: str = "") -> bool:
    """True when ``signature`` is ``prefix`` + the hex HMAC-SHA256 of ``body``.

    An empty secret never verifies: an unset secret must not accept unsigned calls.
    """
    if not secret or not signature:
        return False
    expected = prefix + hmac_sha256_hex(secret, body)
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode())


def verify_token(secret: str, token: str) -> bool:
    """GitLab's scheme: the secret itself travels in a header."""
    if not secret or not token:
        return False
    return hmac.compare_digest(secret.encode(), token.encode())
