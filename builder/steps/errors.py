"""How a step ends other than by succeeding."""

from __future__ import annotations

from shared.errors import BuildFailed


class StepTimedOut(BuildFailed):
    """A step ran past its ``timeout``: the run ends ``Timeout`` (run_lifecycle maps it)."""


class StepStopped(BuildFailed):
    """The run is ending (another step failed, or it was canceled): the step was stopped."""


class TaskTimedOut(StepTimedOut):
    """The task file's ``totalTimeout`` passed: every step is stopped and the run
    ends ``Timeout``, as for a step's own timeout."""
