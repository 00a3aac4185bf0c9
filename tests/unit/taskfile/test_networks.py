"""Task-file ``networks``, a step's ``network``, and the engine networks of a run."""

from __future__ import annotations

import pytest

from shared.errors import InvalidRequest
from shared.taskfile.model import Network
from shared.taskfile.networks import plan_networks, unique_local_subnet
from tests.unit.taskfile.test_taskfile import load


def test_networks_parse_with_acr_defaults_and_steps_name_them():
    task = load("""\
        networks:
          - name: backend
          - name: v6
            driver: bridge
            ipv6: true
            isDefault: true
          - name: existing
            skipCreation: true
        steps:
          - cmd: x
            network: backend
          - cmd: y
          - cmd: z
            network: default
        """)
    assert task.networks == (
        Network("backend"),
        Network("v6", driver="bridge", ipv6=True, is_default=True),
        Network("existing", skip_creation=True),
    )
    assert [step.network for step in task.steps] == ["backend", None, "default"]


def _task(networks: str, step: str = "cmd: x") -> str:
    return f"networks:\n  - {networks}\nsteps:\n  - {step}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_task("name: a\n    colour: red"), "line 3: unknown network property 'colour'"),
        (_task("driver: bridge"), "line 2: each network needs a name"),
        (_task("name: a\n    ipv6: yes please"), "line 3: ipv6 must be true or false, got text"),
        (_task("name: a\n    skipCreation: 1"), "line 3: skipCreation must be true or false"),
        (_task("name: a\n    isDefault: [x]"), "line 3: isDefault must be true or false"),
        (_task("name: [a]"), "line 2: name must be text, got a list"),
        (_task("name: a\n    driver: {x: 1}"), "line 3: driver must be text, got an object"),
        (_task("name: a b"), "line 2: network name 'a b' must be letters, digits"),
        (_task("name: -a"), "line 2: network name '-a' must be letters"),
        (_task("name: a\n    driver: 'br idge'"), "line 3: network driver 'br idge' is not"),
        (_task("name: a\n  - name: a"), "line 3: network 'a' is declared twice"),
        (_task("name: a", "cmd: x\n    network: b"), "line 4: step acb_step_0: network 'b' is not"),
        (_task("name: a", "cmd: x\n    network: host"), "network 'host' is not in networks"),
        (_task("name: a", "cmd: x\n    network: [a]"), "line 5: network must be text"),
        ("networks: backend\nsteps:\n  - cmd: x\n", "line 1: networks must be a list of objects"),
        ("networks: [a]\nsteps:\n  - cmd: x\n", "line 1: networks must be a list of objects"),
    ],
)
def test_network_faults_are_refused_with_their_line(text, message):
    with pytest.raises(InvalidRequest) as caught:
        load(text)
    assert message in str(caught.value)


def test_without_networks_a_run_has_its_own_default_network():
    plan = plan_networks((), "drydock-ab1-f00")
    assert [n.engine_name for n in plan.networks] == ["drydock-ab1-f00"]
    assert plan.for_step(None) is plan.default and plan.default.created
    assert plan.for_step("default").engine_name == "drydock-ab1-f00"


def test_declared_networks_are_scoped_to_the_run_and_the_default_stays():
    plan = plan_networks((Network("backend"),), "drydock-ab1-f00")
    assert [n.engine_name for n in plan.networks] == [
        "drydock-ab1-f00-backend",
        "drydock-ab1-f00",
    ]
    assert plan.for_step("backend").engine_name == "drydock-ab1-f00-backend"
    assert plan.for_step(None).engine_name == "drydock-ab1-f00"
    other = plan_networks((Network("backend"),), "drydock-ab2-0ff")
    assert other.for_step("backend").engine_name != plan.for_step("backend").engine_name


def test_is_default_replaces_the_run_network_and_the_last_one_wins_as_in_acr():
    declared = (Network("a", is_default=True), Network("b", is_default=True))
    plan = plan_networks(declared, "run")
    assert [n.engine_name for n in plan.networks] == ["run-a", "run-b"]
    assert plan.for_step(None).engine_name == "run-b"
    assert plan.for_step("default").engine_name == "run-b"
    assert plan.for_step("a").engine_name == "run-a"


@pytest.mark.parametrize(
    ("name", "aliases"), [("mynet", True), ("bridge", False), ("host", False), ("none", False)]
)
def test_skip_creation_networks_keep_their_engine_name_and_are_not_created(name, aliases):
    plan = plan_networks((Network(name, skip_creation=True, is_default=True),), "run")
    network = plan.for_step(None)
    assert network.engine_name == name and not network.created
    assert network.takes_aliases is aliases
    assert [n.engine_name for n in plan.networks] == [name]


def test_a_network_called_default_is_the_one_a_step_names():
    plan = plan_networks((Network("default"),), "run")
    assert plan.for_step("default").engine_name == "run-default"
    assert plan.for_step(None).engine_name == "run"


@pytest.mark.parametrize(
    ("random_bytes", "subnet"),
    [
        (bytes(7), "fd00:0:0:0::/64"),
        (bytes([0xAB, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC]), "fdab:1234:5678:9abc::/64"),
    ],
)
def test_unique_local_subnets(random_bytes, subnet):
    assert unique_local_subnet(random_bytes) == subnet


def test_unique_local_subnet_needs_seven_bytes():
    with pytest.raises(ValueError, match="7 random bytes"):
        unique_local_subnet(b"\x01")
