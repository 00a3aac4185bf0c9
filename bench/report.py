"""docs/benchmarks.md: a fixed header, then one section per benchmark.

Each run rewrites only the sections of the benchmarks it ran, so running one
benchmark keeps the others' figures (each section says when and on what it was
measured). Sections sit between ``<!-- bench:NAME -->`` markers.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.stats import Summary

ORDER = (
    "overhead",
    "pickup",
    "detection",
    "poll_scale",
    "fanout",
    "ingestion",
    "http_baseline",
    "log_latency",
    "retention",
)
"""Section order: the issue's numbering, each baseline next to its benchmark."""

_SECTION = re.compile(
    r"<!-- bench:(?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /bench:(?P=name) -->\n", re.S
)

HEADER = """\
# Benchmarks

Measured by `make bench`: it starts a separate local stack (functions host on
127.0.0.1:7073, registry localhost:5060, Azurite 10030–10032, data under
`.data/bench`, wiped at start), runs `python -m bench` against it, rewrites the
sections below for the benchmarks it ran and stops the stack. One benchmark:
`BENCH_ARGS="overhead --pairs 20" make bench` (`python -m bench --help` lists
the options). Everything stays on loopback; nothing is pulled from the internet
(the base image is made from Debian's busybox-static and pushed to the bench
registry).

How to read the figures: these machines are small and shared (two cores, other
engineers' tests and the same Docker Engine running alongside), so absolute
times are noisy. What is compared is measured side by side in one run,
alternating, and reported as medians and ratios of pairs; distributions as
p50/p95/p99. No test asserts a timing.

"""


@dataclass(frozen=True)
class Machine:
    nproc: int
    cpu: str
    memory_gib: float
    kernel: str
    docker: str
    load: str

    def line(self) -> str:
        return (
            f"{self.nproc} CPUs ({self.cpu}), {self.memory_gib:.1f} GiB RAM, Linux {self.kernel}, "
            f"Docker Engine {self.docker}; load average {self.load}"
        )


def machine(docker_version: str) -> Machine:
    cpu = "unknown CPU"
    memory_kib = 0
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    return Machine(
        nproc=_nproc(),
        cpu=cpu,
        memory_gib=memory_kib / 1024 / 1024,
        kernel=platform.release(),
        docker=docker_version,
        load=" ".join(f"{value:.2f}" for value in os.getloadavg()),
    )


def _nproc() -> int:
    try:
        return int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    except (OSError, ValueError):
        return os.cpu_count() or 0


def stamp(machine_now: Machine, command: str) -> str:
    """The first lines of a section: when, on what, and how to get it again."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {when} on {machine_now.line()} (at the start of this benchmark).\n\n"
        f"Reproduce: `{command}`\n"
    )


def write_report(path: Path, sections: Mapping[str, str]) -> None:
    """Replace the given sections (name → markdown body) in ``path``, keep the rest."""
    existing = path.read_text() if path.exists() else ""
    bodies = {match["name"]: match["body"] for match in _SECTION.finditer(existing)}
    bodies.update({name: body.rstrip("\n") + "\n" for name, body in sections.items()})
    names = [name for name in ORDER if name in bodies]
    names += sorted(name for name in bodies if name not in ORDER)
    text = HEADER + "\n".join(
        f"<!-- bench:{name} -->\n{bodies[name]}<!-- /bench:{name} -->\n" for name in names
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ---- formatting -------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.1f} ms" if abs(seconds) < 0.01 else f"{seconds * 1000:.0f} ms"


def secs(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.2f} s"


def summary_cells(summary: Summary, unit: str = "ms") -> list[str]:
    """p50, p95, p99, min, max in ``unit`` (``ms`` or ``s``)."""
    show = ms if unit == "ms" else secs
    values = (summary.p50, summary.p95, summary.p99, summary.minimum, summary.maximum)
    return [show(value) for value in values]


SUMMARY_HEADERS = ("p50", "p95", "p99", "min", "max")
