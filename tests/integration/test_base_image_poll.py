"""The dependency index and base-image checks against real Azurite and a real
registry. The rebuild starter here records what it is asked to start; starting
real task runs is covered with tasks in tests/integration/test_base_image_rebuilds.py."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from shared.base_image_poll import check_all, check_image
from shared.base_images import BUILDTIME, RUNTIME, Dependent, Rebuild, trigger_admits
from shared.errors import TransientError
from shared.registry.client import RegistryClient
from shared.storage.base_image_tables import BaseImageIndex
from tests.support.oci import push_image, push_index

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 28, tzinfo=UTC)


class RecordingStarter:
    """Starts nothing: records which rebuilds the check asked for."""

    def __init__(self, trigger_types: dict[str, str]) -> None:
        self.trigger_types = trigger_types
        self.started: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def admitted(self, rebuilds, kinds):
        types = self.trigger_types
        return [r for r in rebuilds if trigger_admits(types.get(r.task, "Runtime"), kinds[r.task])]

    def start(self, rebuilds, chain):
        with self._lock:
            self.started += [(rebuild.task, rebuild.to_digest) for rebuild in rebuilds]
            return [f"run-{rebuild.task}" for rebuild in rebuilds]


@pytest.fixture
def index(storage_connection, unique_name):
    store = BaseImageIndex(storage_connection, f"{unique_name}idx", f"{unique_name}marks")
    store.ensure_tables()
    yield store
    from azure.data.tables import TableServiceClient

    service = TableServiceClient.from_connection_string(storage_connection)
    service.delete_table(f"{unique_name}idx")
    service.delete_table(f"{unique_name}marks")


def test_a_moved_base_rebuilds_each_admitted_dependent_exactly_once(
    index, registry_host, unique_name
):
    repo = f"{unique_name}/base"
    image = f"{registry_host}/{repo}:1"
    first, _ = push_image(f"http://{registry_host}", repo, "1")
    index.register(Dependent("app-runtime", image, RUNTIME, first))
    index.register(Dependent("app-buildtime", image, BUILDTIME, first))
    index.register(Dependent("app-all", image, BUILDTIME, first))
    index.register(Dependent("app-new", image, RUNTIME, None))
    starter = RecordingStarter({"app-all": "All"})
    assert check_image(image, index, RegistryClient(), starter, NOW) == []
    second, _ = push_image(f"http://{registry_host}", repo, "1")
    # Two pollers at once, twice each: still one run per (task, base, digest).
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(
            pool.map(lambda _: check_image(image, index, RegistryClient(), starter, NOW), range(4))
        )
    assert sorted(starter.started) == [("app-all", second), ("app-runtime", second)]
    check_image(image, index, RegistryClient(), starter, NOW)  # re-push of the same digest
    assert len(starter.started) == 2


def test_one_request_per_base_however_many_tasks(index, registry_host, unique_name):
    repo = f"{unique_name}/shared"
    image = f"{registry_host}/{repo}:1"
    digest, _ = push_image(f"http://{registry_host}", repo, "1")
    for number in range(100):
        index.register(Dependent(f"task-{number:03d}", image, RUNTIME, digest))
    client = RegistryClient()
    report = check_all(index, client, RecordingStarter({}), NOW)
    assert report.images >= 1 and image not in report.errors
    assert client.requests_made == report.images


def test_another_architectures_update_is_no_false_alarm(index, registry_host, unique_name):
    base = f"http://{registry_host}"
    repo = f"{unique_name}/multi"
    image = f"{registry_host}/{repo}:1"
    amd = push_image(base, repo, "amd", arch="amd64")
    push_index(
        base, repo, "1", {"amd64": amd, "arm64": push_image(base, repo, "arm", arch="arm64")}
    )
    index.register(Dependent("amd-app", image, RUNTIME, amd[0]))
    index.register(
        Dependent("arm-app", image, RUNTIME, "sha256:" + "0" * 64, platform="linux/arm64")
    )
    starter = RecordingStarter({})
    check_image(image, index, RegistryClient(), starter, NOW)
    starter.started.clear()
    push_index(
        base, repo, "1", {"amd64": amd, "arm64": push_image(base, repo, "arm", arch="arm64")}
    )
    check_image(image, index, RegistryClient(), starter, NOW)
    assert [task for task, _ in starter.started] == ["arm-app"]


def test_a_registry_that_is_down_triggers_nothing(index, unique_name):
    image = f"localhost:5999/{unique_name}/base:1"
    index.register(Dependent("app", image, RUNTIME, "sha256:" + "1" * 64))
    starter = RecordingStarter({})
    with pytest.raises(TransientError):
        check_image(image, index, RegistryClient(), starter, NOW)
    report = check_all(index, RegistryClient(), starter, NOW)
    assert image in report.errors and starter.started == []


def test_concurrent_claims_of_one_update_win_each_mark_once(index):
    image = "localhost:1/base:1"
    rebuilds = [Rebuild(f"task-{n}", image, "sha256:old", "sha256:new") for n in range(150)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        claims = list(pool.map(lambda _: index.claim_rebuilds(rebuilds), range(3)))
    assert [sum(won) for won in zip(*claims, strict=True)] == [1] * 150
    index.release_rebuilds(rebuilds[:10])
    again = index.claim_rebuilds(rebuilds)
    assert again == [True] * 10 + [False] * 140


class CountingIndex:
    """The real index, counting what a poll writes and reads per base."""

    def __init__(self, index: BaseImageIndex) -> None:
        self._index = index
        self.saved: list[str] = []
        self.per_base_reads = 0

    def __getattr__(self, name):
        return getattr(self._index, name)

    def save_observed(self, image, view, now):
        self.saved.append(image)
        self._index.save_observed(image, view, now)

    def dependents(self, image):
        self.per_base_reads += 1
        return self._index.dependents(image)

    def observed(self, image):
        self.per_base_reads += 1
        return self._index.observed(image)


def test_a_poll_reads_the_index_in_one_pass_and_writes_only_what_moved(
    index, registry_host, unique_name
):
    base = f"http://{registry_host}"
    images = [f"{registry_host}/{unique_name}/b{n}:1" for n in range(3)]
    for number, image in enumerate(images):
        digest, _ = push_image(base, f"{unique_name}/b{number}", "1")
        index.register(Dependent(f"app-{number}", image, RUNTIME, digest))
        index.register(Dependent(f"lib-{number}", image, BUILDTIME, digest))
    counting = CountingIndex(index)
    starter = RecordingStarter({"lib-1": "All"})
    check_all(counting, RegistryClient(), starter, NOW)
    assert sorted(counting.saved) == sorted(images)  # first sight of each base
    counting.saved.clear()
    assert check_all(counting, RegistryClient(), starter, NOW).runs == []
    assert counting.saved == []  # nothing moved: nothing written
    moved, _ = push_image(base, f"{unique_name}/b1", "1")
    report = check_all(counting, RegistryClient(), starter, NOW)
    assert counting.saved == [images[1]]
    assert sorted(starter.started) == [("app-1", moved), ("lib-1", moved)]
    assert report.images == 3 and counting.per_base_reads == 0
