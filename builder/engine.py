"""The builder's adapter to a Docker Engine: build, tag, push, inspect, remove.

Docker output is data. The engine answers a build or a push with ``200`` and a
stream of JSON chunks; a failure arrives as an ``error``/``errorDetail`` chunk
inside that stream (docker-py's high-level API turns it into
``BuildError(reason, build_log)``). We parse the stream incrementally with the
low-level API, hand every line to ``on_output`` as it comes, and translate
failures once, here, into ``BuildFailed`` (the user's build or push is at fault:
the message is the reason shown to them) or ``TransientError`` (the engine could
not be reached: worth retrying).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import docker
import docker.errors
import requests
import urllib3
from docker.utils import parse_repository_tag

from builder.paths import path_inside
from shared.errors import BuildFailed, TransientError

logger = logging.getLogger(__name__)

ENGINE_TIMEOUT_SECONDS = 600
"""Read timeout of ordinary engine calls. Generous because a push streams
nothing while the engine waits on a slow registry; builds use no read timeout
at all (a RUN may be silent for hours) and are bounded by ``should_stop``."""

STOP_POLL_SECONDS = 0.5
"""How often ``should_stop`` is asked while the engine sends nothing."""

PING_TIMEOUT_SECONDS = 5
"""How long ``answers`` waits for the engine's ``/_ping``: a live engine answers
at once, one shutting down refuses the connection."""

_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

Chunk = dict[str, Any]


@dataclass(frozen=True)
class PushedImage:
    reference: str
    """The reference pushed, e.g. ``localhost:5000/app:v1``."""
    digest: str
    """The manifest digest (``sha256:…``) as the registry reported it."""


class BuildCanceled(BuildFailed):
    """``should_stop`` asked for the build (or push) to stop, and it was stopped."""

    def __init__(self) -> None:
        super().__init__("canceled")


def _never() -> bool:
    return False


class DockerEngine:
    """Builds and pushes images through one Docker Engine."""

    def __init__(self, client: docker.DockerClient) -> None:
        self._client = client

    @property
    def client(self) -> docker.DockerClient:
        """The engine's client, for the containers, networks and volumes of multi-step runs."""
        return self._client

    @classmethod
    def from_env(cls) -> DockerEngine:
        """The engine at ``DOCKER_HOST``, or the default socket."""
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        try:
            # Negotiates the API version, so this also proves the engine answers.
            client = docker.from_env(timeout=ENGINE_TIMEOUT_SECONDS)
        except docker.errors.DockerException as exc:
            raise TransientError(f"no Docker Engine answers at {where}: {exc}") from exc
        return cls(client)

    def build(
        self,
        *,
        context_dir: Path,
        dockerfile: str,
        tags: Sequence[str],
        build_args: Mapping[str, str],
        target: str | None,
        platform: str | None,
        on_output: Callable[[str], None],
        should_stop: Callable[[], bool] = _never,
        pull: bool = True,
        nocache: bool = False,
    ) -> str:
        """Build ``dockerfile`` (relative to ``context_dir``), tag the result with
        every tag and return the image id (``sha256:…``).

        ``pull=False`` builds on the bases the engine has locally: for a base an
        earlier step of the same run built and never pushed. ``nocache`` reuses
        no layer (``docker build --no-cache``)."""
        _check_dockerfile(context_dir, dockerfile)
        first_tag = tags[0] if tags else None
        other_tags = list(tags[1:])
        logger.info("building %s from %s in %s", list(tags), dockerfile, context_dir)

        def open_stream() -> Iterator[Chunk]:
            return self._client.api.build(
                path=str(context_dir),  # docker-py honours .dockerignore given a path
                dockerfile=dockerfile,
                tag=first_tag,
                buildargs=dict(build_args),
                target=target or None,
                platform=platform or None,
                # By default, build on the base as the registry has it now; the
                # layer cache still serves every step that did not change.
                pull=pull,
                nocache=nocache,
                rm=True,
                forcerm=True,
                decode=True,
            )

        try:
            with _EngineStream(open_stream, should_stop) as chunks:
                image_id = _follow_build(chunks, on_output)
        except BuildCanceled:
            raise
        except BuildFailed as exc:
            self._raise_if_engine_left(exc, "build")
            raise
        except docker.errors.APIError as exc:
            raise BuildFailed(f"failed to build: {_explanation(exc)}") from exc
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise TransientError(f"the Docker Engine failed during the build: {exc}") from exc
        except OSError as exc:  # docker-py tars the context before it sends anything
            raise BuildFailed(f"cannot read the build context: {exc}") from exc
        except docker.errors.DockerException as exc:
            raise TransientError(f"the Docker Engine failed during the build: {exc}") from exc

        for reference in other_tags:
            self._tag(image_id, reference)
        return image_id

    def base_image_digest(self, image: str) -> str | None:
        """The digest of the local ``image`` as it was pulled (or pushed), taken
        from its RepoDigests entry for the same repository; None for ``scratch``,
        for an image never pulled or pushed, or one not present locally (a build
        stage's name, say)."""
        if image == "scratch":
            return None
        try:
            attrs = self._client.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            return None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise TransientError(f"cannot inspect {image} on the Docker Engine: {exc}") from exc
        wanted = _canonical_repository(image)
        for repo_digest in attrs.get("RepoDigests") or []:
            repository, _, digest = repo_digest.partition("@")
            if digest and _canonical_repository(repository) == wanted:
                return digest
        return None

    def push(
        self,
        reference: str,
        on_output: Callable[[str], None],
        should_stop: Callable[[], bool] = _never,
    ) -> PushedImage:
        """Push ``reference`` and return the digest the registry reported."""
        repository, tag = parse_repository_tag(reference)
        logger.info("pushing %s", reference)

        def open_stream() -> Iterator[Chunk]:
            return self._client.api.push(repository, tag=tag or "latest", stream=True, decode=True)

        try:
            with _EngineStream(open_stream, should_stop) as chunks:
                digest = _follow_push(chunks, on_output, reference)
        except BuildCanceled:
            raise
        except BuildFailed as exc:
            self._raise_if_engine_left(exc, f"push of {reference}")
            raise
        except docker.errors.APIError as exc:
            raise BuildFailed(f"push to {reference} failed: {_explanation(exc)}") from exc
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            docker.errors.DockerException,
        ) as exc:
            raise TransientError(f"the Docker Engine failed pushing {reference}: {exc}") from exc
        return PushedImage(reference=reference, digest=digest)

    def answers(self) -> bool:
        """Whether the engine answers a ping now."""
        api = self._client.api
        try:
            return api.get(f"{api.base_url}/_ping", timeout=PING_TIMEOUT_SECONDS).ok
        except (requests.exceptions.RequestException, OSError):
            return False

    def _raise_if_engine_left(self, failure: BuildFailed, what: str) -> None:
        """TransientError when the engine stopped during ``what``: one shutting down
        kills the build's container, and the stream reports exit code 137 as if
        the user's step failed. By then it refuses new connections, which is how
        the two are told apart: the run is retried, not failed."""
        if self.answers():
            return
        logger.warning("the Docker Engine went away during the %s: %s", what, failure)
        reason = f"the Docker Engine stopped during the {what} ({failure})"
        raise TransientError(reason) from failure

    def remove_image(self, image: str) -> None:
        """Remove (or untag) ``image``; best effort, a missing image is fine."""
        try:
            self._client.api.remove_image(image)
        except docker.errors.ImageNotFound:
            pass
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            logger.warning("could not remove image %s: %s", image, exc)

    def _tag(self, image_id: str, reference: str) -> None:
        repository, tag = parse_repository_tag(reference)
        try:
            self._client.api.tag(image_id, repository, tag or "latest")
        except docker.errors.APIError as exc:
            raise BuildFailed(f"cannot tag the image {reference}: {_explanation(exc)}") from exc
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise TransientError(f"the Docker Engine failed tagging {reference}: {exc}") from exc


def _check_dockerfile(context_dir: Path, dockerfile: str) -> None:
    """Refuse a missing Dockerfile before the engine is asked, and one outside the
    context: docker-py would read it from the builder's own disk."""
    path = path_inside(context_dir, dockerfile)
    if os.path.isabs(dockerfile) or path is None or not path.is_file():
        raise BuildFailed(f"Dockerfile '{dockerfile}' not found in the context")


def _follow_build(chunks: Iterator[Chunk], on_output: Callable[[str], None]) -> str:
    lines = _OutputLines(on_output)
    image_id = None
    for chunk in chunks:
        if "stream" in chunk:
            lines.text(chunk["stream"])
        elif "status" in chunk:
            lines.status(chunk)
        if error := _error_of(chunk):
            lines.flush()
            raise BuildFailed(f"failed to build: {error}")
        image_id = (chunk.get("aux") or {}).get("ID", image_id)
    lines.flush()
    if not image_id:
        # An engine that restarts mid-build just ends the stream.
        raise TransientError("the Docker Engine ended the build without an image id")
    return image_id


def _follow_push(chunks: Iterator[Chunk], on_output: Callable[[str], None], reference: str) -> str:
    lines = _OutputLines(on_output)
    digest = None
    for chunk in chunks:
        if "status" in chunk:
            lines.status(chunk)
        if error := _error_of(chunk):
            raise BuildFailed(f"push to {reference} failed: {error}")
        digest = (chunk.get("aux") or {}).get("Digest", digest)
    if not digest:
        raise BuildFailed(f"push to {reference} failed: the registry reported no digest")
    return digest


def _error_of(chunk: Chunk) -> str | None:
    if "error" not in chunk and "errorDetail" not in chunk:
        return None
    detail = chunk.get("errorDetail") or {}
    return str(detail.get("message") or chunk.get("error") or "unknown error").strip()


def _explanation(exc: docker.errors.APIError) -> str:
    return str(exc.explanation or exc).strip()


class _OutputLines:
    """Turns stream text and status chunks into whole lines, in order.

    Build output arrives in arbitrary pieces ("Step 1/3 : FROM x" then "\\n"), so
    text is buffered up to each newline. Pull and push progress repeats a status
    per layer on every tick; a line is emitted only when a layer's status changes.
    """

    def __init__(self, on_output: Callable[[str], None]) -> None:
        self._on_output = on_output
        self._partial = ""
        self._status_by_id: dict[str, str] = {}

    def text(self, text: str) -> None:
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            self._on_output(line.rstrip())

    def status(self, chunk: Chunk) -> None:
        self.flush()
        status = str(chunk["status"]).strip()
        layer = chunk.get("id")
        if not layer:
            self._on_output(status)
        elif self._status_by_id.get(layer) != status:
            self._status_by_id[layer] = status
            self._on_output(f"{layer}: {status}")

    def flush(self) -> None:
        if self._partial.strip():
            self._on_output(self._partial.rstrip())
        self._partial = ""


_CHUNK, _END, _FAILED = "chunk", "end", "failed"


class _EngineStream:
    """Reads a decoded docker JSON stream on a helper thread.

    The engine may send nothing for a long time (a RUN that sleeps), yet
    ``should_stop`` must be honoured within moments, so the caller waits on a
    queue and polls it. Stopping means closing the connection: that is how the
    engine learns to cancel a legacy-builder build (and remove its container).
    """

    def __init__(
        self, open_stream: Callable[[], Iterator[Chunk]], should_stop: Callable[[], bool]
    ) -> None:
        self._open_stream = open_stream
        self._should_stop = should_stop
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._response: requests.Response | None = None
        self._aborted = False
        self._finished = False
        self._thread = threading.Thread(target=self._read, name="docker-stream", daemon=True)

    def __enter__(self) -> Iterator[Chunk]:
        self._thread.start()
        return self._chunks()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._finished:
            self._abort()

    def _chunks(self) -> Iterator[Chunk]:
        while True:
            try:
                kind, value = self._queue.get(timeout=STOP_POLL_SECONDS)
            except queue.Empty:
                self._stop_if_asked()
                continue
            if kind == _END:
                self._finished = True
                return
            if kind == _FAILED:
                self._finished = True
                raise value
            yield value
            self._stop_if_asked()

    def _stop_if_asked(self) -> None:
        if self._should_stop():
            self._abort()
            raise BuildCanceled()

    def _read(self) -> None:
        response = None
        try:
            stream = self._open_stream()
            response = _response_of(stream)
            with self._lock:
                self._response = response
                if self._aborted:
                    return
            for chunk in stream:
                if self._aborted:  # only reached when the response was not found
                    return
                self._queue.put((_CHUNK, chunk))
            self._queue.put((_END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._queue.put((_FAILED, exc))
        finally:
            if response is not None:
                with suppress(Exception):
                    response.close()

    def _abort(self) -> None:
        with self._lock:
            self._aborted = True
            response = self._response
        if response is None:
            return  # not connected yet: the reader sees _aborted and closes
        # Shut the socket down rather than close it: close() does not wake the
        # reader blocked in recv(), and the engine would not notice. The
        # connection is None once released to the pool, which must not be hurt.
        connection = getattr(response.raw, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)


def _response_of(stream: Iterator[Chunk]) -> requests.Response | None:
    """The HTTP response behind a docker-py stream, so that it can be aborted.

    docker-py's APIClient hands back a generator, ``_stream_helper(response,
    decode)``, and offers no other way to reach the response; its frame holds it
    from creation. Without it a stop takes effect at the next chunk only.
    """
    frame = getattr(stream, "gi_frame", None)
    response = frame.f_locals.get("response") if frame is not None else None
    if isinstance(response, requests.Response):
        return response
    logger.warning("cannot reach the engine response: a stop waits for the next output")
    return None


def _canonical_repository(reference: str) -> str:
    """The repository of ``reference`` with Docker Hub's implicit parts spelled
    out: "alpine" and "docker.io/library/alpine" name the same repository."""
    repository, _ = parse_repository_tag(reference)
    host, sep, path = repository.partition("/")
    if not sep or ("." not in host and ":" not in host and host != "localhost"):
        host, path = "docker.io", repository
    if host in _HUB_HOSTS:
        host = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    return f"{host}/{path}"
