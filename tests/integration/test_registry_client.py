"""The registry client against real CNCF Distribution registries: plain, token
auth (with a test token issuer) and basic auth; and one that is down."""

from __future__ import annotations

import pytest

from shared.errors import NotFound, TransientError
from shared.image_ref import parse_image_ref
from shared.registry.client import Credential, RegistryClient
from tests.support.oci import push_image, push_index

pytestmark = pytest.mark.integration


def test_a_tag_moved_by_a_push_is_seen_with_one_head_each_time(registry_host, unique_name):
    base = f"http://{registry_host}"
    repo = f"{unique_name}/base"
    first, _ = push_image(base, repo, "1")
    client = RegistryClient()
    ref = parse_image_ref(f"{registry_host}/{repo}:1")
    seen = client.manifest_digest(ref)
    assert seen.digest == first and seen.platform_digest is None
    assert client.requests_made == 1
    second, _ = push_image(base, repo, "1")
    assert client.manifest_digest(ref).digest == second != first
    assert client.requests_made == 2


def test_an_index_is_compared_on_the_tasks_platform_only(registry_host, unique_name):
    base = f"http://{registry_host}"
    repo = f"{unique_name}/multi"
    amd = push_image(base, repo, "amd", arch="amd64")
    arm = push_image(base, repo, "arm", arch="arm64")
    index1 = push_index(base, repo, "1", {"amd64": amd, "arm64": arm})
    client = RegistryClient()
    ref = parse_image_ref(f"{registry_host}/{repo}:1")
    amd_view = client.manifest_digest(ref, "linux/amd64")
    assert (amd_view.digest, amd_view.platform_digest) == (index1, amd[0])
    # Only arm64 is patched: a new index, the same amd64 manifest.
    arm2 = push_image(base, repo, "arm", arch="arm64")
    index2 = push_index(base, repo, "1", {"amd64": amd, "arm64": arm2})
    again = client.manifest_digest(ref, "linux/amd64", known=amd_view)
    assert again.digest == index2 != index1
    assert again.comparable == amd_view.comparable
    arm_view = client.manifest_digest(ref, "linux/arm64")
    assert arm_view.comparable == arm2[0]


def test_an_unchanged_index_costs_one_head(registry_host, unique_name):
    base = f"http://{registry_host}"
    repo = f"{unique_name}/multi"
    amd = push_image(base, repo, "amd", arch="amd64")
    push_index(base, repo, "1", {"amd64": amd})
    client = RegistryClient()
    ref = parse_image_ref(f"{registry_host}/{repo}:1")
    known = client.manifest_digest(ref)
    before = client.requests_made
    assert client.manifest_digest(ref, known=known) == known
    assert client.requests_made == before + 1


def test_unknown_tags_and_dead_registries_are_errors_not_changes(registry_host, unique_name):
    client = RegistryClient()
    with pytest.raises(NotFound):
        client.manifest_digest(parse_image_ref(f"{registry_host}/{unique_name}/none:1"))
    with pytest.raises(TransientError, match="unreachable"):
        client.manifest_digest(parse_image_ref("localhost:5999/x/y:1"))


def test_token_auth_registry(token_registry, unique_name):
    base, auth_for_push, credential = token_registry
    repo = f"{unique_name}/app"
    pushed, _ = push_image(base, repo, "1", auth_for_push)
    registry = base.removeprefix("http://")
    client = RegistryClient(credentials=lambda host: credential if host == registry else None)
    ref = parse_image_ref(f"{registry}/{repo}:1")
    assert client.manifest_digest(ref).digest == pushed
    first_round = client.requests_made
    assert first_round == 2  # the 401 challenge, then the request with the token
    assert client.manifest_digest(ref).digest == pushed
    assert client.requests_made == first_round + 1  # the token is cached


def test_token_auth_with_wrong_credentials_is_an_error(token_registry, unique_name):
    base, auth_for_push, _ = token_registry
    repo = f"{unique_name}/app"
    push_image(base, repo, "1", auth_for_push)
    registry = base.removeprefix("http://")
    client = RegistryClient(credentials=lambda _h: Credential("drydock", "wrong"))
    with pytest.raises(TransientError, match="401"):
        client.manifest_digest(parse_image_ref(f"{registry}/{repo}:1"))


def test_basic_auth_registry(basic_registry, unique_name):
    base, auth_for_push, credential = basic_registry
    repo = f"{unique_name}/app"
    pushed, _ = push_image(base, repo, "1", auth_for_push)
    registry = base.removeprefix("http://")
    client = RegistryClient(credentials=lambda _h: credential)
    ref = parse_image_ref(f"{registry}/{repo}:1")
    assert client.manifest_digest(ref).digest == pushed
    assert client.manifest_digest(ref).digest == pushed
    assert client.requests_made == 3  # one challenge, then Basic sent up front
    anonymous = RegistryClient()
    with pytest.raises(TransientError, match="401"):
        anonymous.manifest_digest(ref)
