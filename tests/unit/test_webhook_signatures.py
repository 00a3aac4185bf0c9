import hashlib
import hmac

import pytest

from shared.webhooks.signatures import verify_hmac_sha256, verify_token

BODY = b'{"zen": "Keep it logically awesome."}'


def _sign(secret: str, body: bytes = BODY) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_matching_hmac_verifies_with_and_without_prefix():
    assert verify_hmac_sha256(BODY, "s3cret", "sha256=" + _sign("s3cret"), "sha256=")
    assert verify_hmac_sha256(BODY, "s3cret", _sign("s3cret"))
    assert verify_hmac_sha256(BODY, "s3cret", _sign("s3cret").upper())


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=", "sha1=" + "0" * 40, "sha256=" + _sign("other"), _sign("s3cret")],
)
def test_anything_else_does_not_verify(signature):
    assert not verify_hmac_sha256(BODY, "s3cret", signature, "sha256=")


def test_the_raw_body_is_signed_not_its_json():
    reformatted = b'{"zen":"Keep it logically awesome."}'
    assert not verify_hmac_sha256(reformatted, "s3cret", _sign("s3cret"))


def test_an_empty_secret_never_verifies():
    assert not verify_hmac_sha256(BODY, "", _sign(""))
    assert not verify_token("", "")


def test_gitlab_token():
    assert verify_token("s3cret", "s3cret")
    assert not verify_token("s3cret", "s3cre")
