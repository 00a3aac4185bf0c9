"""One error hierarchy for the whole of Drydock.

Adapters translate SDK and HTTP errors into these once (``raise ... from exc``);
HTTP functions map them to a status code and a message a user can act on.
"""


class DrydockError(Exception):
    """Base of every error Drydock raises on purpose."""

    http_status = 500


class InvalidRequest(DrydockError):
    """The caller sent something we refuse; the message says what to fix."""

    http_status = 400


class Unauthorized(DrydockError):
    """No key, a wrong key, or a bad webhook signature."""

    http_status = 401


class NotFound(DrydockError):
    """An unknown run or task."""

    http_status = 404


class Conflict(DrydockError):
    """A concurrent writer won (ETag mismatch, entity already exists)."""

    http_status = 409


class PayloadTooLarge(DrydockError):
    """A request body over the limit for its route."""

    http_status = 413


class ConfigurationError(DrydockError):
    """A setting is missing or malformed; raised at start, not per request."""


class TransientError(DrydockError):
    """A dependency (storage, registry, engine) failed in a way worth retrying."""

    http_status = 503


class BuildFailed(DrydockError):
    """A build, push or step failed; the message is the reason shown to users."""
