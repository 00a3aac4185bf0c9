"""python -m bench [names…] — measure the running stack, update docs/benchmarks.md.

Names: overhead, pickup, detection, poll_scale, fanout, ingestion, log_latency,
http_baseline, retention (default: all, in that order).
Usually started by `make bench` (`BENCH_ARGS="overhead --pairs 20" make bench`),
which starts a separate stack and passes its settings in the environment.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from bench import (
    detection,
    fanout,
    http_baseline,
    ingestion,
    log_latency,
    overhead,
    pickup,
    poll_scale,
    retention_bench,
)
from bench.report import machine, write_report
from bench.target import BenchError, Target
from shared import settings as setting_names

REPO = Path(__file__).resolve().parents[1]
NAMES = (
    "overhead",
    "pickup",
    "detection",
    "poll_scale",
    "fanout",
    "ingestion",
    "log_latency",
    "http_baseline",
    "retention",
)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    names = args.names or list(NAMES)
    try:
        target = Target.from_environ()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    docker_version = target.docker.version().get("Version", "unknown")
    measured_overhead: overhead.Result | None = None
    steps: dict[str, Callable[[], str]] = {}

    def command(name: str, options: str) -> str:
        return f'BENCH_ARGS="{name}{options}" make bench'

    def run_overhead() -> str:
        nonlocal measured_overhead
        now = machine(docker_version)
        measured_overhead = overhead.run(target, args.pairs, args.sleep)
        return overhead.render(
            measured_overhead,
            now,
            command("overhead", f" --pairs {args.pairs} --sleep {args.sleep}"),
        )

    def run_pickup() -> str:
        now = machine(docker_version)
        result = pickup.run(target, args.pickup_runs)
        if measured_overhead is not None:
            result.from_overhead = overhead.queue_waits(measured_overhead)
        options = f" --pickup-runs {args.pickup_runs}"
        how = command("overhead pickup", f" --pairs {args.pairs}{options}")
        if measured_overhead is None:
            how = command("pickup", options)
        return pickup.render(result, now, how)

    def run_log_latency() -> str:
        now = machine(docker_version)
        result = log_latency.run(target, args.log_runs)
        return log_latency.render(
            result, now, command("log_latency", f" --log-runs {args.log_runs}")
        )

    def run_http() -> str:
        now = machine(docker_version)
        result = http_baseline.run(target, args.clients, args.http_count)
        clients = " ".join(f"--clients {n}" for n in args.clients)
        how = command("http_baseline", f" --http-count {args.http_count} {clients}")
        return http_baseline.render(result, now, how)

    def run_detection() -> str:
        now = machine(docker_version)
        schedule = os.environ.get(setting_names.BASE_IMAGE_POLL_SCHEDULE, "")
        schedule = schedule or setting_names.DEFAULTS[setting_names.BASE_IMAGE_POLL_SCHEDULE]
        result = detection.run(target, args.detection_samples, schedule)
        how = command("detection", f" --detection-samples {args.detection_samples}")
        return detection.render(result, now, how)

    def run_poll_scale() -> str:
        now = machine(docker_version)
        result = poll_scale.run(target, args.scale)
        how = command("poll_scale", "".join(f" --scale {n}" for n in args.scale))
        return poll_scale.render(result, now, how)

    def run_fanout() -> str:
        now = machine(docker_version)
        result = fanout.run(target, args.fanout)
        return fanout.render(
            result, now, command("fanout", "".join(f" --fanout {n}" for n in args.fanout))
        )

    def run_ingestion() -> str:
        now = machine(docker_version)
        result = ingestion.run(target, args.ingest_clients, args.ingest_count)
        clients = "".join(f" --ingest-clients {n}" for n in args.ingest_clients)
        how = command("ingestion", f" --ingest-count {args.ingest_count}{clients}")
        return ingestion.render(result, now, how)

    def run_retention() -> str:
        now = machine(docker_version)
        result = retention_bench.run(target, args.retention_runs)
        how = command("retention", "".join(f" --retention-runs {n}" for n in args.retention_runs))
        return retention_bench.render(result, now, how)

    steps = {
        "overhead": run_overhead,
        "pickup": run_pickup,
        "detection": run_detection,
        "poll_scale": run_poll_scale,
        "fanout": run_fanout,
        "ingestion": run_ingestion,
        "log_latency": run_log_latency,
        "http_baseline": run_http,
        "retention": run_retention,
    }
    out = REPO / args.out
    for name in names:
        print(f"bench: {name} …", flush=True)
        try:
            section = steps[name]()
        except BenchError as exc:
            print(f"bench: {name} failed: {exc}", file=sys.stderr)
            return 1
        write_report(out, {name: section})
        print(f"bench: {name} written to {args.out}", flush=True)
    print(f"bench: done ({shlex.join(names)})")
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run: {', '.join(NAMES)} (default: all)",
    )
    parser.add_argument(
        "--pairs", type=int, default=12, help="overhead: measured rounds (default 12)"
    )
    parser.add_argument(
        "--sleep", type=float, default=2.5, help="overhead: seconds the RUN sleeps (default 2.5)"
    )
    parser.add_argument(
        "--pickup-runs", type=int, default=30, help="pickup: tiny builds (default 30)"
    )
    parser.add_argument(
        "--log-runs", type=int, default=5, help="log_latency: builds of 20 lines (default 5)"
    )
    parser.add_argument(
        "--http-count",
        type=int,
        default=1000,
        help="http_baseline: requests per row (default 1000)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        action="append",
        help="http_baseline: concurrency levels (default 1, 8, 32)",
    )
    parser.add_argument(
        "--detection-samples",
        type=int,
        default=5,
        help="detection: base pushes per path, webhook and polling (default 5)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        action="append",
        help="poll_scale: distinct bases per poll (default 1, 100, 1000, 10000)",
    )
    parser.add_argument(
        "--fanout",
        type=int,
        action="append",
        help="fanout: dependent tasks of one base (default 10, 100, 1000)",
    )
    parser.add_argument(
        "--ingest-count",
        type=int,
        default=500,
        help="ingestion: signed deliveries per concurrency level (default 500)",
    )
    parser.add_argument(
        "--ingest-clients",
        type=int,
        action="append",
        help="ingestion: concurrent clients (default 1, 8, 32)",
    )
    parser.add_argument(
        "--retention-runs",
        type=int,
        action="append",
        help="retention: expired runs to purge (default 10000, 100000)",
    )
    parser.add_argument(
        "--out", default="docs/benchmarks.md", help="report to update (relative to the repository)"
    )
    args = parser.parse_intermixed_args(argv)
    args.clients = args.clients or [1, 8, 32]
    args.scale = args.scale or [1, 100, 1000, 10_000]
    args.fanout = args.fanout or [10, 100, 1000]
    args.ingest_clients = args.ingest_clients or [1, 8, 32]
    args.retention_runs = args.retention_runs or [10_000, 100_000]
    unknown = [name for name in args.names if name not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(NAMES)}")
    for name, value in (
        ("--pairs", args.pairs),
        ("--pickup-runs", args.pickup_runs),
        ("--log-runs", args.log_runs),
        ("--http-count", args.http_count),
        ("--detection-samples", args.detection_samples),
        ("--ingest-count", args.ingest_count),
        *(("--scale", n) for n in args.scale),
        *(("--fanout", n) for n in args.fanout),
    ):
        if not 0 < value <= 10_000:
            parser.error(f"{name} must be between 1 and 10000")
    for name, values, top in (
        ("--clients", args.clients, 256),
        ("--ingest-clients", args.ingest_clients, 256),
        ("--retention-runs", args.retention_runs, 200_000),
    ):
        if not all(0 < value <= top for value in values):
            parser.error(f"{name} must be between 1 and {top}")
    return args


if __name__ == "__main__":
    sys.exit(main())
