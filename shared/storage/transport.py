"""HTTP connections to storage, pooled for the threads that share a client.

The SDK's default session keeps ten connections per host; a fan-out or a
webhook burst runs more threads than that through one client, and every
request beyond the tenth opened (and threw away) a TCP connection of its own.
"""

from __future__ import annotations

from typing import Any

import requests
from azure.core.pipeline.transport import RequestsTransport

POOL_SIZE = 64
"""Connections kept per host: above the busiest thread pool that shares a client."""


def pooled() -> dict[str, Any]:
    """Keyword arguments giving a storage client its own pooled transport."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return {"transport": RequestsTransport(session=session, session_owner=True)}
