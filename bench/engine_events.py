"""When the Docker Engine tagged and pushed each image, from its event stream.

The engine stamps events in nanoseconds on the machine's wall clock, the same
clock the run record's times come from, so the base's pull check (its ``pull``
event), a build's end (its ``tag`` event) and a push's end (its ``push`` event)
split a run's wall time into phases for Drydock and plain Docker alike, without
touching either.
"""

from __future__ import annotations

import threading
import time

import docker

RECORDED_ACTIONS = frozenset({"pull", "tag", "push"})


class ImageEvents:
    def __init__(self, client: docker.DockerClient) -> None:
        self._stream = client.events(decode=True, filters={"type": "image"})
        self._times: dict[tuple[str, str], list[float]] = {}
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._follow, daemon=True, name="engine-events")

    def __enter__(self) -> ImageEvents:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stream.close()

    def time_of(
        self, action: str, reference: str, after: float = 0.0, wait: float = 2.0
    ) -> float | None:
        """Epoch seconds of the first ``action`` event on ``reference`` at or after
        ``after``; None if none arrives within ``wait`` seconds (the stream lags
        the API a little)."""

        def first() -> float | None:
            return next((t for t in self._times.get((action, reference), []) if t >= after), None)

        with self._changed:
            self._changed.wait_for(lambda: first() is not None, timeout=wait)
            return first()

    def _follow(self) -> None:
        try:
            for event in self._stream:
                action = event.get("Action") or event.get("status")
                if action not in RECORDED_ACTIONS:
                    continue
                actor = event.get("Actor") or {}
                # A pull or push names the reference in its ID; a tag event's ID is
                # the image id and the new reference is its "name".
                name = actor.get("ID", "") if action in ("pull", "push") else ""
                name = name or actor.get("Attributes", {}).get("name", "")
                stamp = event.get("timeNano", time.time_ns()) / 1e9
                with self._changed:
                    self._times.setdefault((action, name), []).append(stamp)
                    self._changed.notify_all()
        except Exception:  # noqa: BLE001 - closing the stream ends the loop with an error
            return
