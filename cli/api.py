"""A thin client of Drydock's REST API: one method per endpoint, one error type.

HTTP and connection failures are translated here, once, into ``ApiError`` whose
message a user can act on; commands never see a ``requests`` exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import IO, Any

import requests

from cli.settings import CliSettings

logger = logging.getLogger(__name__)

KEY_HEADER = "x-functions-key"
# Uploads may be large and the Functions host buffers them before answering.
_UPLOAD_TIMEOUT = (10, 600)
_TIMEOUT = (10, 60)


class ApiError(Exception):
    """The API could not be reached or refused the request."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth another try: no answer at all, or the server's own trouble."""
        return self.status is None or self.status >= 500


@dataclass(frozen=True)
class LogChunk:
    data: bytes
    next_offset: int
    run_status: str | None


class DrydockClient:
    def __init__(self, settings: CliSettings, session: requests.Session | None = None) -> None:
        self._base = settings.url
        self._session = session or requests.Session()
        if settings.api_key:
            self._session.headers[KEY_HEADER] = settings.api_key

    def create_build_from_archive(
        self, archive: IO[bytes], params: list[tuple[str, str]]
    ) -> dict[str, Any]:
        response = self.request(
            "POST",
            "/api/builds",
            params=params,
            data=archive,
            headers={"Content-Type": "application/gzip"},
            timeout=_UPLOAD_TIMEOUT,
        )
        return response.json()

    def create_build_from_url(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/builds", json=body).json()

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/runs/{run_id}").json()

    def list_runs(self, params: dict[str, str]) -> dict[str, Any]:
        return self.request("GET", "/api/runs", params=params).json()

    def read_log(self, run_id: str, offset: int) -> LogChunk:
        response = self.request("GET", f"/api/runs/{run_id}/logs", params={"offset": offset})
        data = response.content
        next_offset = response.headers.get("X-Log-Offset")
        return LogChunk(
            data=data,
            next_offset=int(next_offset) if next_offset else offset + len(data),
            run_status=response.headers.get("X-Run-Status"),
        )

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", _TIMEOUT)
        url = self._base + path
        try:
            response = self._session.request(method, url, **kwargs)
        except requests.ConnectionError as exc:
            raise ApiError(
                f"cannot reach Drydock at {self._base} ({_reason(exc)}); "
                "is the stack running? Set DRYDOCK_URL or --url to point elsewhere"
            ) from exc
        except requests.Timeout as exc:
            raise ApiError(f"Drydock at {self._base} did not answer in time") from exc
        except requests.RequestException as exc:
            raise ApiError(f"request to {url} failed: {exc}") from exc
        if response.status_code >= 400:
            raise ApiError(_error_message(response), status=response.status_code)
        logger.debug("%s %s -> %s", method, path, response.status_code)
        return response


def _error_message(response: requests.Response) -> str:
    try:
        message = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        message = response.text.strip()[:500] or response.reason
    message = f"{message} (HTTP {response.status_code})"
    if response.status_code == 401:
        message += "; check the API key: DRYDOCK_API_KEY, --api-key or .data/api-key"
    return message


def _reason(exc: requests.ConnectionError) -> str:
    # urllib3 nests the useful part ("Connection refused") several levels deep.
    inner: BaseException = exc
    while inner.__context__ is not None or inner.__cause__ is not None:
        inner = inner.__cause__ or inner.__context__  # type: ignore[assignment]
    return str(inner) or type(inner).__name__
