"""What a FunctionApp declares, read once into plain descriptors.

``FunctionApp.get_functions()`` may be called only once per app object (a second
call fails its unique-name validation), so the host reads it here and works from
the descriptors afterwards.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from shared.errors import ConfigurationError
from shared.settings import STORAGE

logger = logging.getLogger(__name__)

ANY_METHOD: frozenset[str] | None = None


@dataclass(frozen=True)
class FunctionDescriptor:
    name: str
    arg_name: str
    user_function: Callable[..., Any]
    takes_context: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class HttpFunction(FunctionDescriptor):
    route: str
    methods: frozenset[str] | None
    auth_level: str


@dataclass(frozen=True)
class QueueFunction(FunctionDescriptor):
    queue_name: str
    connection: str


@dataclass(frozen=True)
class TimerFunction(FunctionDescriptor):
    schedule: str
    run_on_startup: bool


def load_app(spec: str) -> func.FunctionApp:
    """Import ``module:attribute`` (default attribute ``app``)."""
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attribute or "app", None)
    if not isinstance(app, func.FunctionApp):
        raise ConfigurationError(f"{spec!r} is not an azure.functions.FunctionApp")
    return app


def discover(app: func.FunctionApp) -> list[FunctionDescriptor]:
    """Descriptors of every function the host can run; others are logged and skipped."""
    return [d for d in (describe(f) for f in app.get_functions()) if d is not None]


def describe(function: func.Function) -> FunctionDescriptor | None:
    bindings = [json.loads(b) if isinstance(b, str) else b for b in function.get_raw_bindings()]
    trigger = next((b for b in bindings if b.get("type", "").endswith("Trigger")), None)
    user_function = function.get_user_function()
    name = function.get_function_name() or user_function.__name__
    if trigger is None:
        logger.warning("function %s has no trigger; skipped", name)
        return None
    _warn_unsupported_bindings(name, trigger, bindings)
    common: dict[str, Any] = {
        "name": name,
        "arg_name": trigger["name"],
        "user_function": user_function,
        "takes_context": "context" in inspect.signature(user_function).parameters,
    }
    kind = trigger["type"]
    if kind == "httpTrigger":
        return HttpFunction(
            **common,
            route=trigger.get("route") or name,
            methods=_methods(trigger.get("methods")),
            auth_level=str(trigger.get("authLevel", "FUNCTION")).upper(),
        )
    if kind == "queueTrigger":
        return QueueFunction(
            **common,
            queue_name=trigger["queueName"],
            connection=trigger.get("connection") or STORAGE,
        )
    if kind == "timerTrigger":
        return TimerFunction(
            **common,
            schedule=trigger["schedule"],
            run_on_startup=bool(trigger.get("runOnStartup", False)),
        )
    logger.warning("function %s: trigger %s is not supported by devhost; skipped", name, kind)
    return None


def _methods(methods: Iterable[str] | None) -> frozenset[str] | None:
    return ANY_METHOD if not methods else frozenset(str(m).upper() for m in methods)


def _warn_unsupported_bindings(name: str, trigger: dict, bindings: list[dict]) -> None:
    for binding in bindings:
        http_return = binding.get("type") == "http" and binding.get("direction") == "OUT"
        if binding is trigger or http_return:
            continue
        logger.warning(
            "function %s: binding %s (%s) is not supported by devhost",
            name,
            binding.get("name"),
            binding.get("type"),
        )


def describe_all(
    descriptors: Iterable[FunctionDescriptor],
    base_url: str,
    resolve: Callable[[str], str] = str,
) -> str:
    """The startup listing, in the shape ``func start`` prints; ``resolve`` fills %Settings%."""
    lines = ["Functions:", ""]
    for d in descriptors:
        lines.append(f"        {d.name}: {resolve(_summary(d, base_url))}")
        lines.append("")
    return "\n".join(lines)


def _summary(d: FunctionDescriptor, base_url: str) -> str:
    if isinstance(d, HttpFunction):
        methods = ",".join(sorted(d.methods)) if d.methods else "ANY"
        return f"[{methods}] {base_url}/api/{d.route.strip('/')}  ({d.auth_level.lower()})"
    if isinstance(d, QueueFunction):
        return f"queueTrigger (queue {d.queue_name}, connection {d.connection})"
    if isinstance(d, TimerFunction):
        startup = ", runOnStartup" if d.run_on_startup else ""
        return f"timerTrigger ({d.schedule}{startup})"
    return type(d).__name__
