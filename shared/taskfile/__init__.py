"""Multi-step task files (``acr-task.yaml``): render, parse, validate. Pure."""

from __future__ import annotations

from shared.taskfile.model import DockerBuild, Step, TaskFile
from shared.taskfile.render import RenderInput, apply_aliases, render_text
from shared.taskfile.validate import validate_task_file
from shared.taskfile.yaml_loader import load_yaml


def load_task_file(text: str, given: RenderInput) -> TaskFile:
    """Render, then parse, then validate; InvalidRequest names the fault and its line."""
    tree = load_yaml(render_text(text, given))
    return validate_task_file(apply_aliases(tree, given))


__all__ = ["DockerBuild", "RenderInput", "Step", "TaskFile", "load_task_file"]
