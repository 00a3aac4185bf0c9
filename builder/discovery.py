"""Dependency discovery for a saved task: its Dockerfile's bases, known before the
first run. Done by a builder because fetching a context (a Git clone) is a
builder's job, never a function's."""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from builder.contexts import fetch_context
from builder.paths import path_inside
from builder.run_lifecycle import BuilderContext
from shared.base_image_rebuilds import register_discovered
from shared.base_images import BUILDTIME, RUNTIME
from shared.dockerfile_deps import discover_base_images
from shared.errors import DrydockError
from shared.templating import render_template, run_variables

log = logging.getLogger(__name__)

DISCOVERY_TIMEOUT_SECONDS = 120


def discover_task_dependencies(task_name: str, ctx: BuilderContext) -> list[tuple[str, str]]:
    """Register the bases of ``task_name``'s Dockerfile; returns (image, kind) pairs."""
    task, _ = ctx.adapters.tasks.get(task_name)
    if not task.build.context or task.build.file.lower().endswith((".yaml", ".yml")):
        return []  # a task file's bases become known from its first run's build steps
    workspace = Path(tempfile.mkdtemp(prefix="drydock-discovery-", dir=ctx.workspace_root))
    try:
        text = _dockerfile_text(task.build.context, task.build.file, workspace, ctx)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    now = datetime.now(UTC)
    variables = run_variables(run_id="discovery", registry=ctx.adapters.settings.registry,
                              now=now, task_name=task.name, values=task.values)  # fmt: skip
    args = {
        name: render_template(value, variables) for name, value in task.build.build_args.items()
    }
    deps = discover_base_images(text, args, task.build.target)
    images = [(deps.runtime, RUNTIME)] if deps.runtime else []
    images += [(image, BUILDTIME) for image in deps.buildtime]
    register_discovered(task.key, images, task.build.platform or "linux/amd64",
                        ctx.adapters.base_images, ctx.adapters.registry, now)  # fmt: skip
    log.info("task %s depends on %s", task.name, images)
    return images


def _dockerfile_text(context: str, file: str, workspace: Path, ctx: BuilderContext) -> str:
    root = fetch_context(context, "discovery", workspace, ctx.adapters.contexts,
                         ctx.adapters.settings.allow_private_networks, None,
                         DISCOVERY_TIMEOUT_SECONDS)  # fmt: skip
    path = path_inside(root, file)
    if path is None or not path.is_file():
        raise DrydockError(f"{file} not found in the context")
    return path.read_text(encoding="utf-8", errors="replace")
