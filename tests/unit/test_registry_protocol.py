import json

import pytest

from shared.registry.challenge import parse_challenge
from shared.registry.client import _retry_after, is_loopback_registry
from shared.registry.manifests import ManifestDigest, is_index, platform_manifest


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/alpine:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/alpine:pull",
            },
        ),
        ('Basic realm="Registry Realm"', "basic", {"realm": "Registry Realm"}),
        (
            'Bearer realm="https://ghcr.io/token", service="ghcr.io"',
            "bearer",
            {"realm": "https://ghcr.io/token", "service": "ghcr.io"},
        ),
        (
            "Bearer realm=https://x/token,service=x",
            "bearer",
            {"realm": "https://x/token", "service": "x"},
        ),
        ('Bearer realm="a \\"quoted\\" realm"', "bearer", {"realm": 'a "quoted" realm'}),
    ],
)
def test_challenges_as_registries_send_them(header, scheme, params):
    challenge = parse_challenge(header)
    assert challenge is not None
    assert challenge.scheme == scheme and challenge.params == params


@pytest.mark.parametrize("header", ["", "   ", "=garbage", "123 realm=x"])
def test_unreadable_challenges_are_none(header):
    assert parse_challenge(header) is None


INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "manifests": [
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
            {
                "digest": "sha256:armv7",
                "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
            },
            {
                "digest": "sha256:arm64",
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
            {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
        ],
    }
).encode()


@pytest.mark.parametrize(
    ("platform", "digest"),
    [
        ("linux/amd64", "sha256:amd"),
        ("linux/arm/v7", "sha256:armv7"),
        ("linux/arm64", "sha256:arm64"),
        ("linux/s390x", None),
        ("windows/amd64", None),
    ],
)
def test_the_platform_manifest_is_picked_from_an_index(platform, digest):
    assert platform_manifest(INDEX, platform) == digest


def test_media_types():
    assert is_index("application/vnd.oci.image.index.v1+json")
    assert is_index("application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8")
    assert not is_index("application/vnd.docker.distribution.manifest.v2+json")
    assert ManifestDigest("sha256:i", "sha256:p", "x").comparable == "sha256:p"
    assert ManifestDigest("sha256:m", None, "x").comparable == "sha256:m"


@pytest.mark.parametrize(
    ("registry", "loopback"),
    [
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("localhost", True),
        ("[::1]:5000", True),
        ("docker.io", False),
        ("myreg.azurecr.io", False),
        ("10.0.0.5:5000", False),
    ],
)
def test_loopback_registries_speak_plain_http(registry, loopback):
    assert is_loopback_registry(registry) is loopback


@pytest.mark.parametrize(
    ("header", "remaining", "seconds"),
    [("30", "", 30.0), (None, "0;w=21600", 21600.0), (None, "0", 60.0), ("soon", "", 60.0)],
)
def test_retry_after(header, remaining, seconds):
    assert _retry_after(header, remaining) == seconds
