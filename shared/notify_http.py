"""Sends notification requests over HTTP (``requests``): the NotificationSender adapter."""

from __future__ import annotations

from collections.abc import Mapping

import requests

from shared.errors import TransientError

TIMEOUT_SECONDS = 5.0
"""Connect and read timeout of one attempt; a slow target is retried later, not waited on."""


class HttpNotificationSender:
    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        self._session = requests.Session()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The target's status code. Redirects are not followed: each hop would need
        its own address check, and a webhook that moved should be updated anyway."""
        try:
            response = self._session.post(
                url,
                data=body,
                headers=dict(headers),
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,  # the answer's body is never read
            )
        except requests.RequestException as exc:
            # Not the exception's text: it quotes the URL, whose path may hold a token.
            raise TransientError(f"the target did not answer ({type(exc).__name__})") from exc
        response.close()
        return response.status_code
