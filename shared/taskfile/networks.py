"""Which engine networks a run has, and which one each step joins.

ACR runs each task on a VM of its own, so a task file's network names are
global there. Here many runs share one engine: a network the run creates gets
an engine name scoped to the run, and is removed when the run ends. A
``skipCreation`` network is one the engine already has, used by its own name
and never removed.

Steps naming no network join the run's default one: the network marked
``isDefault`` (the last, as ACR reads them), else a per-run network of our
own. ACR leaves such steps on Docker's bridge when networks are declared but
none is the default; we keep our per-run network there, so that every step's
id stays its DNS name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.taskfile.model import Network

DEFAULT_NETWORK = "default"
"""What a step's ``network`` may say to mean the run's default network."""
PREDEFINED_NETWORKS = frozenset({"bridge", "host", "none"})
"""Docker's own networks: they take no network-scoped aliases."""


@dataclass(frozen=True)
class EngineNetwork:
    engine_name: str
    declared: Network | None = None
    """None for the run's own default network."""

    @property
    def created(self) -> bool:
        """Created for the run (and removed with it), rather than found on the engine."""
        return self.declared is None or not self.declared.skip_creation

    @property
    def takes_aliases(self) -> bool:
        """Whether a step's id can be its DNS name here: Docker refuses aliases on
        its predefined networks."""
        return self.engine_name not in PREDEFINED_NETWORKS


@dataclass(frozen=True)
class NetworkPlan:
    networks: tuple[EngineNetwork, ...]
    default: EngineNetwork
    by_name: Mapping[str, EngineNetwork]
    """Task-file name → engine network."""

    def for_step(self, name: str | None) -> EngineNetwork:
        """The network a step's ``network`` names; validation refused unknown names."""
        if name and name in self.by_name:
            return self.by_name[name]
        return self.default


def plan_networks(declared: Sequence[Network], run_name: str) -> NetworkPlan:
    """The run's networks; ``run_name`` is unique on the engine and scopes the
    names of the networks the run creates."""
    engine = {
        network.name: EngineNetwork(
            network.name if network.skip_creation else f"{run_name}-{network.name}", network
        )
        for network in declared
    }
    defaults = [engine[network.name] for network in declared if network.is_default]
    default = defaults[-1] if defaults else EngineNetwork(run_name)
    networks = tuple(engine.values()) + (() if defaults else (default,))
    return NetworkPlan(networks=networks, default=default, by_name=engine)


def unique_local_subnet(random_bytes: bytes) -> str:
    """An IPv6 /64 in the unique-local range (RFC 4193) from 7 random bytes.

    Engines before Docker 27 have no IPv6 pool to allocate from, so an ``ipv6``
    network needs a subnet of its own; a random global id keeps concurrent runs
    apart, as RFC 4193 intends for independently chosen prefixes."""
    if len(random_bytes) != 7:
        raise ValueError("unique_local_subnet needs 7 random bytes (40-bit id, 16-bit subnet)")
    groups = [0xFD00 | random_bytes[0]] + [
        int.from_bytes(random_bytes[i : i + 2], "big") for i in (1, 3, 5)
    ]
    return ":".join(f"{group:x}" for group in groups) + "::/64"
