"""Calling a user function the way the Python worker does: sync or async, with a context.

The trace and retry context ABCs are not re-exported by ``azure.functions``;
``_abc`` is where the library itself defines them.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import uuid
from typing import Any

import azure.functions as func
from azure.functions._abc import RetryContext, TraceContext

from devhost.discovery import FunctionDescriptor


class _TraceContext(TraceContext):
    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """The ``context`` argument a function may declare."""

    _thread_local = threading.local()

    def __init__(self, function_name: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._trace = _TraceContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return os.getcwd()

    @property
    def trace_context(self) -> TraceContext:
        return self._trace

    @property
    def retry_context(self) -> RetryContext:
        return _RetryContext()


class Invoker:
    """Runs sync functions on the calling thread and coroutines on one shared loop.

    One loop for the whole host, like the worker's: async clients a function
    module creates at import stay bound to a single loop.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="devhost-async", daemon=True
        )
        self._thread.start()

    def invoke(self, function: FunctionDescriptor, trigger_value: Any) -> Any:
        kwargs: dict[str, Any] = {function.arg_name: trigger_value}
        if function.takes_context:
            kwargs["context"] = InvocationContext(function.name)
        result = function.user_function(**kwargs)
        if inspect.isawaitable(result):
            return asyncio.run_coroutine_threadsafe(_await(result), self._loop).result()
        return result

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


async def _await(awaitable: Any) -> Any:
    return await awaitable
