"""Drydock's local stack: `run` it for development, or `test` against a separate one.

usage: stack.py run | test | bench | --help

run   starts Azurite, the registry, the Docker Engine (when none answers), the
      functions host and one builder; prints where everything is; Ctrl-C or
      SIGTERM stops everything it started and exits 0.
test  starts the same parts as a separate stack (own ports, own data under
      .data/test, wiped at start), runs pytest against it, stops everything and
      exits with pytest's exit code.
bench starts a separate benchmark stack (ports 7073, 5060, 10030-10032, data
      under .data/bench, wiped at start), runs `python -m bench $BENCH_ARGS`
      (which writes docs/benchmarks.md), stops everything and exits with its code.

Settings (environment variables; `run` uses them, `test` uses its own values):
  AzureWebJobsStorage               storage connection string; when set, Azurite
                                    is not started (default: the local Azurite)
  DRYDOCK_REGISTRY                  default registry (default localhost:<registry port>);
                                    when it names another registry, none is started
  DRYDOCK_API_KEY                   REST API key (default: generated once into
                                    .data/api-key, mode 0600)
  DRYDOCK_WEBHOOK_SECRET            webhook secret (default: .data/webhook-secret)
  DRYDOCK_BASE_IMAGE_POLL_SCHEDULE  NCRONTAB (default "0 */5 * * * *")
  DRYDOCK_RETENTION_SCHEDULE        NCRONTAB (default "0 0 3 * * *")
  DRYDOCK_LOG_RETENTION_DAYS        days (default 30)
  DRYDOCK_ALLOW_PRIVATE_NETWORKS    true|false (default true locally)
  DOCKER_HOST                       Docker Engine to use (default: the default socket;
                                    dockerd is started there, as root, when none answers)
Ports (`run` only; `test` uses 7072, 5050 and 10010-10012):
  DRYDOCK_HOST_PORT                 functions host (default 7071)
  DRYDOCK_REGISTRY_PORT             registry (default 5000)
  DRYDOCK_AZURITE_BLOB_PORT         Azurite blob (default 10000); queue and table
                                    use the next two ports
`test` only:
  PYTEST_ARGS                       extra pytest arguments, e.g. "-k webhook -x"
`bench` only:
  BENCH_ARGS                        benchmarks and options, e.g. "overhead --pairs 5"
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

from parts import Plan, plan
from profiles import (
    REPO,
    VENV_PYTHON,
    Profile,
    bench_profile,
    bench_settings,
    names,
    relative,
    run_profile,
    run_settings,
    test_profile,
    test_settings,
)
from supervise import Interrupted, StackError, Supervisor, tail

PYTEST_PATHS = ["tests/unit", "tests/integration", "tests/e2e"]


def prepare_data(profile: Profile) -> None:
    if profile.wipe:
        for part in ("azurite", "registry", "logs"):
            shutil.rmtree(profile.data / part, ignore_errors=True)
    profile.logs.mkdir(parents=True, exist_ok=True)


def start(profile: Profile, stack: Plan, supervisor: Supervisor) -> float:
    began = time.monotonic()
    for note in stack.notes:
        print(f"  {note}")
    for group in stack.groups:
        if group:
            print(f"  starting {', '.join(service.name for service in group)} …", flush=True)
            supervisor.start_group(group)
    return time.monotonic() - began


def print_summary(profile: Profile, stack: Plan, seconds: float, settings: dict[str, str]) -> None:
    print(f"\nDrydock local stack is up ({seconds:.1f} s). Data under {relative(profile.data)}/\n")
    services = [service for group in stack.groups for service in group]
    for service in services:
        print(f"  {service.name:<15} {service.where}")
        print(f"  {'':<15} log {relative(service.log)}")
    if not any(service.name == "Docker Engine" for service in services):
        print(f"  {'Docker Engine':<15} {stack.engine}  (already running, left alone)")
    print(f"  {'registry name':<15} {settings[names.REGISTRY]}  (DRYDOCK_REGISTRY)")
    for label, name, file in (
        ("API key", names.API_KEY, "api-key"),
        ("webhook secret", names.WEBHOOK_SECRET, "webhook-secret"),
    ):
        where = f"from {name}" if os.environ.get(name) else relative(profile.data / file)
        print(f"  {label:<15} {where}")
    print("\nSubmit a build (in another terminal):")
    if profile.host_port != 7071:
        print(f"  export DRYDOCK_URL={profile.host_url}")
    if os.environ.get(names.API_KEY):
        print("  export DRYDOCK_API_KEY=...   # the key you gave make run")
    registry_arg = ""
    if profile.registry_port != 5000:
        registry_arg = f" --build-arg REGISTRY=localhost:{profile.registry_port}"
    print(f"  .venv/bin/drydock build ./examples/hello -t 'hello:{{{{.Run.ID}}}}'{registry_arg}")
    print("  .venv/bin/drydock logs <run id>")
    print("\nCtrl-C stops everything started here.", flush=True)


def seed_base_image(profile: Profile) -> None:
    """The tour's Dockerfile needs a base; make it in the local registry."""
    registry = f"localhost:{profile.registry_port}"
    result = subprocess.run(
        [str(VENV_PYTHON), str(REPO / "infra/local/seed_base.py"), registry],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"  could not push the tour's base image to {registry}: {reason}")
    elif result.stdout.strip():
        print(result.stdout.rstrip())


def command_run() -> int:
    environ = dict(os.environ)
    profile = run_profile(environ)
    prepare_data(profile)
    settings = run_settings(profile, environ)
    stack = plan(profile, settings, environ)
    supervisor = Supervisor(REPO)
    try:
        print("Drydock: starting the local stack")
        seconds = start(profile, stack, supervisor)
        seed_base_image(profile)
        print_summary(profile, stack, seconds, settings)
        while True:
            supervisor.check_alive()
            time.sleep(0.5)
    except Interrupted:
        print("\nstopping …", flush=True)
        return 0
    finally:
        _stop(supervisor)


def command_test() -> int:
    environ = dict(os.environ)
    profile = test_profile()
    prepare_data(profile)
    settings = test_settings(profile, environ)
    stack = plan(profile, settings, environ)
    supervisor = Supervisor(REPO)
    try:
        print("Drydock: starting the test stack")
        seconds = start(profile, stack, supervisor)
        logs = relative(profile.logs)
        print(f"  test stack up in {seconds:.1f} s; logs under {logs}/", flush=True)
        code = run_pytest({**environ, **settings})
    except Interrupted as exc:
        print(f"\ntests interrupted ({exc}): stopping …", flush=True)
        return 128 + exc.signum
    except StackError:
        print_logs(stack, with_tails=False)
        raise
    finally:
        _stop(supervisor)
    if code == 5:
        print("pytest collected no tests: that counts as a failure")
    if code != 0:
        print_logs(stack, with_tails=True)
    return code


def run_pytest(env: dict[str, str]) -> int:
    extra = shlex.split(env.get("PYTEST_ARGS", ""))
    return run_child([str(VENV_PYTHON), "-m", "pytest", *PYTEST_PATHS, *extra], env)


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` against the stack; on an interrupt stop it before re-raising."""
    print(f"  {' '.join(command[1:])}\n", flush=True)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL)
    try:
        return process.wait()
    except Interrupted:
        # The child got the terminal's Ctrl-C too; a SIGTERM reached only us.
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        raise


def command_bench() -> int:
    environ = dict(os.environ)
    profile = bench_profile()
    prepare_data(profile)
    settings = bench_settings(profile, environ)
    stack = plan(profile, settings, environ)
    supervisor = Supervisor(REPO)
    try:
        print("Drydock: starting the benchmark stack")
        seconds = start(profile, stack, supervisor)
        print(f"  bench stack up in {seconds:.1f} s; logs under {relative(profile.logs)}/")
        command = [str(VENV_PYTHON), "-m", "bench", *shlex.split(environ.get("BENCH_ARGS", ""))]
        code = run_child(command, {**environ, **settings})
    except Interrupted as exc:
        print(f"\nbenchmarks interrupted ({exc}): stopping …", flush=True)
        return 128 + exc.signum
    finally:
        _stop(supervisor)
    return code


def print_logs(stack: Plan, with_tails: bool) -> None:
    services = [service for group in stack.groups for service in group]
    print("\nlogs of the test stack:")
    for service in services:
        print(f"  {service.name:<15} {relative(service.log)}")
    for service in services if with_tails else []:
        if service.name in ("functions host", "builder"):
            print(f"\n--- last lines of {relative(service.log)} ---")
            print("\n".join(tail(service.log, 30)) or "(empty)")


def _stop(supervisor: Supervisor) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    if supervisor.running:
        supervisor.stop_all()
        print("stopped everything started here.", flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv and argv[0] in ("-h", "--help", "help") else 2
    commands = {"run": command_run, "test": command_test, "bench": command_bench}
    if argv[0] not in commands:
        print(f"unknown command {argv[0]!r}: use run, test, bench or --help", file=sys.stderr)
        return 2
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        return commands[argv[0]]()
    except StackError as exc:
        print(f"drydock: {exc}".replace("\n", "\ndrydock: "), file=sys.stderr)
        if exc.log is not None:
            print(f"--- last lines of {relative(exc.log)} ---", file=sys.stderr)
            print("\n".join(tail(exc.log)) or "(empty)", file=sys.stderr)
        return 1
    except Interrupted:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
