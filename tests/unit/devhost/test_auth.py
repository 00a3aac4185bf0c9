import pytest

from devhost.auth import is_authorized

KEY = "s3cret"


@pytest.mark.parametrize(
    ("level", "headers", "query", "api_key", "allowed"),
    [
        ("ANONYMOUS", {}, {}, KEY, True),
        ("anonymous", {}, {}, "", True),
        ("FUNCTION", {}, {}, KEY, False),
        ("FUNCTION", {"x-functions-key": KEY}, {}, KEY, True),
        ("FUNCTION", {"X-Functions-Key": KEY}, {}, KEY, True),
        ("FUNCTION", {}, {"code": KEY}, KEY, True),
        ("FUNCTION", {"x-functions-key": "wrong"}, {}, KEY, False),
        ("FUNCTION", {}, {"code": "wrong"}, KEY, False),
        ("FUNCTION", {}, {"code": KEY[:-1]}, KEY, False),
        ("ADMIN", {"x-functions-key": KEY}, {}, KEY, True),
        ("ADMIN", {}, {}, KEY, False),
        # No key configured: fail closed, even for an empty key offered.
        ("FUNCTION", {"x-functions-key": ""}, {"code": ""}, "", False),
        ("FUNCTION", {"x-functions-key": "ключ"}, {}, KEY, False),
    ],
)
def test_is_authorized(level, headers, query, api_key, allowed):
    assert is_authorized(level, headers, query, api_key) is allowed
