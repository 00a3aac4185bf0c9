"""Benchmark 1: orchestration overhead of a quick task against plain Docker.

Each round builds and pushes the same kind of image three ways, in an order
that rotates every round: as a Drydock quick task (gzipped tar to
``POST /api/builds``, then ``GET /api/runs/{id}`` every 50 ms until
``Succeeded``), as plain ``docker build`` + ``docker push`` through the Engine
API (docker SDK, the same tar, the same engine and registry), and as plain
Docker with ``--pull``, which the builder always does. Every build carries a
fresh nonce in a COPY and a RUN, so no cache serves it.
"""

from __future__ import annotations

import io
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.engine_events import ImageEvents
from bench.report import SUMMARY_HEADERS, Machine, ms, secs, stamp, summary_cells, table
from bench.stats import median, ratios, summarize
from bench.target import BenchError, Target, api_time, context_archive

log = logging.getLogger(__name__)

NAME = "overhead"
DRYDOCK, DOCKER, DOCKER_PULL = (
    "Drydock quick task",
    "docker build && push",
    "docker build --pull && push",
)
VARIANTS = (DRYDOCK, DOCKER, DOCKER_PULL)
POLL_SECONDS = 0.05
TARGET_RATIO = 1.10

DOCKERFILE = """\
FROM {base}
COPY nonce.txt /nonce.txt
RUN sleep {sleep} && echo {nonce} > /n
"""

PHASES = ("submit", "queue wait", "to base pulled", "build", "push", "record", "observe")


@dataclass
class Measurement:
    variant: str
    total: float
    phases: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Result:
    rounds: list[dict[str, Measurement]]
    sleep: float
    warmup: int


@dataclass
class _Session:
    """What every measured build of one benchmark run shares."""

    target: Target
    events: ImageEvents
    base: str
    made: list[str] = field(default_factory=list)


def run(target: Target, pairs: int, sleep: float, warmup: int = 1) -> Result:
    base = target.base_image()
    rounds: list[dict[str, Measurement]] = []
    with ImageEvents(target.docker) as events:
        session = _Session(target, events, base)
        builders: dict[str, Callable[[bytes, str], Measurement]] = {
            DRYDOCK: lambda archive, tag: _drydock(session, archive, tag),
            DOCKER: lambda archive, tag: _docker(session, archive, tag, pull=False),
            DOCKER_PULL: lambda archive, tag: _docker(session, archive, tag, pull=True),
        }
        try:
            for index in range(warmup + pairs):
                order = VARIANTS[index % 3 :] + VARIANTS[: index % 3]
                measured = {}
                for variant in order:
                    nonce = secrets.token_hex(8)
                    files = {
                        "Dockerfile": DOCKERFILE.format(base=base, sleep=sleep, nonce=nonce),
                        "nonce.txt": nonce + "\n",
                    }
                    measured[variant] = builders[variant](context_archive(files), nonce)
                line = "  ".join(f"{_short(v)} {m.total:.2f}s" for v, m in measured.items())
                label = "warm-up" if index < warmup else f"round {index - warmup + 1}/{pairs}"
                print(f"  overhead {label}: {line}", flush=True)
                if index >= warmup:
                    rounds.append(measured)
        finally:
            target.remove_images(session.made)
    return Result(rounds=rounds, sleep=sleep, warmup=warmup)


def _short(variant: str) -> str:
    return {DRYDOCK: "drydock", DOCKER: "docker", DOCKER_PULL: "docker--pull"}[variant]


def _drydock(session: _Session, archive: bytes, tag: str) -> Measurement:
    target, events = session.target, session.events
    repository = "bench/overhead-drydock"
    reference = f"{target.registry}/{repository}:{tag}"
    session.made.append(reference)
    began_wall, began = time.time(), time.perf_counter()
    submitted = target.submit_archive(archive, [("image", f"{repository}:{tag}")])
    run, seen_wall = target.wait_for_run(submitted["runId"], POLL_SECONDS)
    total = time.perf_counter() - began
    if run["status"] != "Succeeded" or not (run["images"] and run["images"][0].get("digest")):
        raise BenchError(f"run {run['runId']} ended {run['status']}: {run.get('error')}")
    created, started, finished = (
        api_time(run[key]) for key in ("createTime", "startTime", "finishTime")
    )
    pulled = events.time_of("pull", session.base, after=started or began_wall)
    tagged, pushed = events.time_of("tag", reference), events.time_of("push", reference)
    return Measurement(
        DRYDOCK,
        total,
        {
            "submit": _between(began_wall, created),
            "queue wait": _between(created, started),
            "to base pulled": _between(started, pulled),
            "build": _between(pulled or started, tagged),
            "push": _between(tagged, pushed),
            "record": _between(pushed, finished),
            "observe": _between(finished, seen_wall),
        },
    )


def _docker(session: _Session, archive: bytes, tag: str, pull: bool) -> Measurement:
    target, events = session.target, session.events
    repository = f"{target.registry}/bench/overhead-plain"
    reference = f"{repository}:{tag}"
    session.made.append(reference)
    api = target.docker.api
    began_wall, began = time.time(), time.perf_counter()
    for chunk in api.build(
        fileobj=io.BytesIO(archive),
        custom_context=True,
        encoding="gzip",
        tag=reference,
        pull=pull,
        rm=True,
        forcerm=True,
        decode=True,
    ):
        _check(chunk, "build")
    for chunk in api.push(repository, tag=tag, stream=True, decode=True):
        _check(chunk, "push")
    total = time.perf_counter() - began
    done_wall = began_wall + total
    pulled = events.time_of("pull", session.base, after=began_wall) if pull else None
    tagged, pushed = events.time_of("tag", reference), events.time_of("push", reference)
    return Measurement(
        DOCKER_PULL if pull else DOCKER,
        total,
        {
            "to base pulled": _between(began_wall, pulled),
            "build": _between(pulled or began_wall, tagged),
            "push": _between(tagged, pushed),
            "observe": _between(pushed, done_wall),
        },
    )


def _check(chunk: dict, what: str) -> None:
    if "error" in chunk or "errorDetail" in chunk:
        raise BenchError(
            f"plain docker {what} failed: {chunk.get('error') or chunk['errorDetail']}"
        )


def _between(start: float | None, end: float | None) -> float | None:
    return end - start if start is not None and end is not None else None


# ---- report -----------------------------------------------------------------


def queue_waits(result: Result) -> list[float]:
    """createTime → startTime of every measured Drydock run."""
    waits = [r[DRYDOCK].phases.get("queue wait") for r in result.rounds]
    return [wait for wait in waits if wait is not None]


def render(result: Result, machine_now: Machine, command: str) -> str:
    totals = {v: [r[v].total for r in result.rounds] for v in VARIANTS}
    vs_docker = ratios(totals[DRYDOCK], totals[DOCKER])
    vs_pull = ratios(totals[DRYDOCK], totals[DOCKER_PULL])
    ratio_of_medians = median(totals[DRYDOCK]) / median(totals[DOCKER])
    verdict = "meets" if median(vs_docker) <= TARGET_RATIO else "misses"
    if (median(vs_docker) <= TARGET_RATIO) != (ratio_of_medians <= TARGET_RATIO):
        verdict = (
            f"{verdict} it by the per-round median but not by the ratio of medians "
            f"({ratio_of_medians:.3f}): borderline,"
        )
    else:
        verdict += " it"
    text = [
        "## 1. Orchestration overhead: quick task vs plain Docker\n\n",
        stamp(machine_now, command),
        f"\nThe build: `FROM` a busybox base in the bench registry, `COPY` of a file "
        f"holding a fresh nonce, `RUN sleep {result.sleep} && echo <nonce> > /n`; "
        "built and pushed three ways per round, in an order rotating every round "
        f"({len(result.rounds)} rounds after {result.warmup} unmeasured warm-up round):\n\n"
        f"- **{DRYDOCK}**: the context as a gzipped tar to `POST /api/builds?image=…`, "
        f"then `GET /api/runs/{{id}}` every {POLL_SECONDS * 1000:.0f} ms until `Succeeded` "
        "with the pushed digest. Wall time from before the POST to the first answer showing "
        "`Succeeded`.\n"
        f"- **{DOCKER}**: the same tar through the Engine API (docker SDK) to the same "
        "engine, then a push to the same registry; wall time of both.\n"
        f"- **{DOCKER_PULL}**: the same with `pull=True`, as the builder always builds "
        "(it checks the base against the registry, a manifest HEAD on loopback).\n",
        "\n### Wall time per build\n\n",
        table(
            ("variant", "n", *SUMMARY_HEADERS),
            [[v, str(len(totals[v])), *summary_cells(summarize(totals[v]), "s")] for v in VARIANTS],
        ),
        "\n### Ratios (Drydock / plain, per round)\n\n",
        table(
            ("against", "median ratio", "p95", "min", "max", "ratio of medians"),
            [
                [
                    DOCKER,
                    f"**{median(vs_docker):.3f}**",
                    f"{summarize(vs_docker).p95:.3f}",
                    f"{min(vs_docker):.3f}",
                    f"{max(vs_docker):.3f}",
                    f"{ratio_of_medians:.3f}",
                ],
                [
                    DOCKER_PULL,
                    f"{median(vs_pull):.3f}",
                    f"{summarize(vs_pull).p95:.3f}",
                    f"{min(vs_pull):.3f}",
                    f"{max(vs_pull):.3f}",
                    f"{median(totals[DRYDOCK]) / median(totals[DOCKER_PULL]):.3f}",
                ],
            ],
        ),
        f"\nTarget: median ratio against plain `docker build && docker push` ≤ 1.10 — "
        f"this run **{verdict}** ({median(vs_docker):.3f}; the added wall time is "
        f"{secs(median(totals[DRYDOCK]) - median(totals[DOCKER]))} at the medians; per-round "
        f"ratios spread from {min(vs_docker):.2f} to {max(vs_docker):.2f}).\n",
        "\n### Where the time goes (medians per phase)\n\n",
        _phase_table(result),
        "\nPhases come from the run record (`createTime`, `startTime`, `finishTime`) and "
        "the Docker Engine's event stream (the image's `tag` event ends the build, its "
        "`push` event ends the push), all on the machine's wall clock:\n"
        "submit = client starts the POST → `createTime`; queue wait = `createTime` → "
        "`startTime` (the builder's pickup); to base pulled = `startTime` → the engine's "
        "`pull` event for the base (fetching and unpacking the context, opening the log, "
        "sending the context to the engine, the registry check of the base); build = "
        "base pulled → image tagged; push = tagged → pushed; record = "
        "pushed → `finishTime` (digests, dependencies, the run record); observe = "
        "`finishTime` → the client's poll sees it. For plain Docker: to base pulled (with "
        "`--pull` only) = client starts → `pull` event; build = (base pulled or start) → "
        "tagged; push = tagged → pushed; observe = pushed → the SDK call returns.\n",
    ]
    return "".join(text)


def _phase_table(result: Result) -> str:
    rows = []
    for variant in VARIANTS:
        cells = []
        for phase in PHASES:
            values = [r[variant].phases.get(phase) for r in result.rounds]
            present = [value for value in values if value is not None]
            cells.append(ms(median(present)) if present else "")
        rows.append([variant, *cells, secs(median([r[variant].total for r in result.rounds]))])
    return table(("variant", *PHASES, "total (median)"), rows)
