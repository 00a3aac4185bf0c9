"""Benchmark 3: poll scale, one ``check_all`` over 1 to 10,000 distinct bases.

In-process: the real ``check_all`` (shared/base_image_poll.py), the real
``RegistryClient`` against the bench registry and a real ``BaseImageIndex`` in
the bench Azurite, in tables of its own per size. The registry holds one small
image under as many tags as the largest size (one manifest ``PUT`` per tag, no
blobs); every tag is registered as a base with one dependent that was built
with the current digest, so the poll finds nothing to rebuild — what is
measured is the poll itself. Registering is not timed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from bench.inprocess import (
    RssPeak,
    delete_tables,
    settings_from_environ,
    unique_name,
    wait_until_idle,
)
from bench.report import Machine, ms, secs, stamp, table
from bench.target import BenchError, Target
from shared.base_image_poll import check_all
from shared.base_images import RUNTIME, Dependent, Rebuild
from shared.registry.client import RegistryClient
from shared.storage.base_image_tables import BaseImageIndex
from tests.support.oci import DOCKER_MANIFEST, push_image, put_manifest

NAME = "poll_scale"
TARGET_SECONDS = 60.0
REGISTER_WORKERS = 16
TAG_WORKERS = 8


class _NoRebuilds:
    """Every dependent was built with the current digest: a start is a bench bug."""

    def admitted(self, rebuilds: Sequence[Rebuild], kinds: Any) -> list[Rebuild]:
        tasks = ", ".join(rebuild.task for rebuild in rebuilds)
        raise BenchError(f"the poll wanted to rebuild {tasks}: the registry moved under the bench")

    def start(self, rebuilds: Sequence[Rebuild], chain: Any) -> list[str | None]:
        raise BenchError("the poll wanted to start rebuilds")


@dataclass
class Size:
    references: int
    checked: int
    requests: int
    seconds: float
    rss_growth: int
    register_seconds: float
    first_seconds: float
    """The poll before: each base's first observation, written once."""
    errors: int

    @property
    def per_reference(self) -> float:
        return self.requests / self.checked if self.checked else float("nan")


@dataclass
class Result:
    sizes: list[Size]
    tag_seconds: float
    idle_wait: float


def run(target: Target, sizes: list[int]) -> Result:
    settings = settings_from_environ()
    base = f"http://{target.registry}"
    repository = f"bench/poll-{secrets.token_hex(4)}"
    began = time.perf_counter()
    digest = _tag_many(base, repository, max(sizes))
    tag_seconds = time.perf_counter() - began
    print(f"  poll scale: {max(sizes)} tags pushed in {tag_seconds:.1f} s", flush=True)
    # Each tag pushed is a registry notification to the host, delivered one by one.
    idle_wait = wait_until_idle(target.host_port)
    print(f"  poll scale: host idle after {idle_wait:.0f} s more", flush=True)
    measured = []
    for size in sorted(sizes):
        references = [f"{target.registry}/{repository}:t{i}" for i in range(size)]
        measured.append(_measure(settings.storage_connection, references, digest))
        last = measured[-1]
        print(
            f"  poll scale {size}: {secs(last.seconds)}, {last.per_reference:.2f} requests per "
            f"reference, RSS +{last.rss_growth / 2**20:.1f} MiB",
            flush=True,
        )
    return Result(measured, tag_seconds, idle_wait)


def _tag_many(base: str, repository: str, count: int) -> str:
    """One small image, then its manifest under ``t0`` … ``t<count-1>``."""
    digest, _ = push_image(base, repository, "t0")
    manifest = requests.get(
        f"{base}/v2/{repository}/manifests/{digest}",
        headers={"Accept": DOCKER_MANIFEST},
        timeout=30,
    )
    manifest.raise_for_status()

    def tag(index: int) -> None:
        put_manifest(
            base, repository, f"t{index}", manifest.content, DOCKER_MANIFEST, lambda _s: {}
        )

    with ThreadPoolExecutor(TAG_WORKERS) as pool:
        list(pool.map(tag, range(1, count)))
    return digest


def _measure(connection: str, references: list[str], digest: str) -> Size:
    index_table, marks_table = unique_name("benchpoll"), unique_name("benchpollmarks")
    index = BaseImageIndex(connection, index_table, marks_table)
    index.ensure_tables()
    try:
        began = time.perf_counter()
        with ThreadPoolExecutor(REGISTER_WORKERS) as pool:
            list(pool.map(lambda ref: index.register(_dependent(ref, digest)), references))
        register_seconds = time.perf_counter() - began

        began = time.perf_counter()
        check_all(index, RegistryClient(), _NoRebuilds(), datetime.now(UTC))
        first_seconds = time.perf_counter() - began

        client = RegistryClient()
        with RssPeak() as rss:
            began = time.perf_counter()
            report = check_all(index, client, _NoRebuilds(), datetime.now(UTC))
            seconds = time.perf_counter() - began
        if report.images != len(references) or report.errors:
            raise BenchError(
                f"check_all checked {report.images} of {len(references)} references, "
                f"errors {dict(list(report.errors.items())[:3])}"
            )

        return Size(
            references=len(references),
            checked=report.images,
            requests=client.requests_made,
            seconds=seconds,
            rss_growth=rss.growth,
            register_seconds=register_seconds,
            errors=len(report.errors),
            first_seconds=first_seconds,
        )
    finally:
        delete_tables(connection, index_table, marks_table)


def _dependent(reference: str, digest: str) -> Dependent:
    return Dependent(f"task-{reference.rsplit(':', 1)[1]}", reference, RUNTIME, digest)


def render(result: Result, machine_now: Machine, command: str) -> str:
    rows = []
    for size in result.sizes:
        rows.append(
            [
                f"{size.references:,}",
                f"{size.per_reference:.2f}",
                f"**{secs(size.seconds)}**",
                ms(size.seconds / size.references),
                f"{size.references / size.seconds:.0f}",
                f"{size.rss_growth / 2**20:.1f} MiB",
                secs(size.first_seconds),
                secs(size.register_seconds),
            ]
        )
    largest = result.sizes[-1]
    verdict = "meets" if largest.seconds < TARGET_SECONDS else "misses"
    return "".join(
        [
            "## 3. Poll scale: one poll over 1 to 10,000 distinct bases\n\n",
            stamp(machine_now, command),
            "\nIn-process: `check_all` (shared/base_image_poll.py) with the real "
            "`RegistryClient` against the bench registry and a real `BaseImageIndex` in the "
            "bench Azurite (tables of its own per size, deleted afterwards). The registry holds "
            f"one small image under {max(s.references for s in result.sizes):,} tags (one "
            f"manifest `PUT` each, {secs(result.tag_seconds)}; the host then took "
            f"{result.idle_wait:.0f} s more to work through the registry's notifications of "
            "them, and the bench waited for it to go idle before measuring). Each tag is one "
            "base with one dependent built with its current digest, so a poll starts nothing. "
            "A poll reads the whole index in one pass (a page per 1,000 rows: dependents and "
            "last observations), asks the registry once per base (a `HEAD`, 32 bases at a time, "
            "at most 8 requests in flight per registry) and writes a base's `~observed` row "
            "only when what the registry says differs from it. The first poll after the "
            "dependents are registered writes every base's first observation (its time is the "
            "`first poll` column); the timed poll is the next one, the steady state of every "
            "scheduled poll: nothing moved, nothing written. Registering the dependents "
            "(`BaseImageIndex.register`, 16 threads) is not timed; its time is shown for "
            "scale.\n\n",
            table(
                (
                    "bases",
                    "registry requests per base",
                    "poll wall time",
                    "per base",
                    "bases/s",
                    "peak RSS growth",
                    "first poll (writes)",
                    "registering (untimed)",
                ),
                rows,
            ),  # fmt: skip
            "\nRequests per base = `RegistryClient.requests_made / bases checked`. "
            "Peak RSS growth = the highest resident set size during the timed poll minus "
            "the one before it "
            "(sampled every 20 ms; freed memory is not always returned, so smaller sizes run "
            "first).\n\n"
            f"Target: 10,000 bases in under 60 s — this run **{verdict}** it "
            f"({secs(largest.seconds)} for {largest.references:,}). "
            + _growth(result.sizes)
            + "\n",
        ]
    )


def _growth(sizes: list[Size]) -> str:
    big = [size for size in sizes if size.references >= 100]
    if len(big) < 2:
        return ""
    per_base = [size.seconds / size.references for size in big]
    spread = max(per_base) / min(per_base)
    shape = "linear growth" if spread <= 1.5 else "not linear: the cost per base moves"
    listed = ", ".join(f"{ms(t)} at {s.references:,}" for t, s in zip(per_base, big, strict=True))
    return f"Wall time per base: {listed} (spread ×{spread:.2f}): {shape}."
