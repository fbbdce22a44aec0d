"""Thin adapter over docker-py: connection, images, containers, exec with timeouts.

Every call into a container has a timeout and a bounded output.
"""

from __future__ import annotations

import io
import re
import socket
import tarfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker import DockerClient
from docker.models.containers import Container
from docker.utils import socket as docker_socket
from docker.utils.socket import STDERR, frames_iter

from oduflow import images
from oduflow.errors import (
    ExternalCommandError,
    NotFoundError,
    OduflowError,
    PrerequisiteNotMetError,
    ValidationError,
)

MAX_OUTPUT = 2_000_000
"""Bytes kept of one command's stdout/stderr (the head is dropped beyond it)."""


def connect() -> DockerClient:
    """A client for the local Docker engine, or ``PrerequisiteNotMetError`` saying what to do."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        raise PrerequisiteNotMetError(
            f"Docker is not reachable ({exc}). Start the Docker engine (e.g. "
            "'systemctl start docker' or 'dockerd &') and check that this user may use "
            "/var/run/docker.sock (or set DOCKER_HOST)."
        ) from None
    return client


def ensure_image(client: DockerClient, ref: str) -> None:
    """Make sure ``ref`` exists locally: use it if present, pull it only when missing."""
    try:
        client.images.get(ref)
        return
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:
        raise PrerequisiteNotMetError(f"cannot inspect image '{ref}': {exc}") from None
    try:
        client.images.pull(ref)
    except docker.errors.DockerException as exc:
        raise PrerequisiteNotMetError(
            f"image '{ref}' is not available locally and could not be pulled ({exc}). "
            f"Pull or build it first ('docker pull {ref}', 'docker load', 'docker build -t {ref}')."
        ) from None


def get_container(client: DockerClient, name: str) -> Container | None:
    try:
        return client.containers.get(name)
    except docker.errors.NotFound:
        return None


def list_containers(client: DockerClient, filters: Mapping[str, Any]) -> list[Container]:
    """Every container (running or not) matching ``filters``.

    A container removed between Docker's listing and its inspection (another operation
    finishing at that moment) is left out instead of failing the whole listing.
    """
    return list(client.containers.list(all=True, ignore_removed=True, filters=dict(filters)))


def remove_container(client: DockerClient, name: str, timeout: int = 10) -> bool:
    """Stop and remove ``name`` with its anonymous volumes; False when it did not exist."""
    c = get_container(client, name)
    if c is None:
        return False
    try:
        if c.status == "running":
            c.stop(timeout=timeout)
        c.remove(v=True, force=True)
    except docker.errors.NotFound:
        return False
    return True


def image_user(
    client: DockerClient, image: str, name: str, labels: dict[str, str], **create: Any
) -> tuple[int, int]:
    """UID and GID the image runs as (``id -u``/``id -g`` in a throw-away container ``name``;
    ``create``: more ``containers.create`` arguments, e.g. confinement)."""
    res = run_to_completion(
        client,
        image,
        name=name,
        labels=labels,
        timeout=PROBE_TIMEOUT,
        entrypoint=["sh", "-c", "id -u; id -g"],
        stderr=False,
        network_disabled=True,
        **create,
    )
    ids = res.logs.split()
    if res.exit_code != 0 or len(ids) != 2 or not all(x.isdigit() for x in ids):
        raise ExternalCommandError(
            f"cannot read the user of image '{image}'",
            command="id -u; id -g",
            exit_code=res.exit_code,
            output=res.logs,
        )
    return int(ids[0]), int(ids[1])


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False

    @property
    def output(self) -> str:
        """stdout and stderr joined (stderr last) for logs that mix both."""
        if self.stdout and self.stderr:
            return self.stdout.rstrip("\n") + "\n" + self.stderr
        return self.stdout or self.stderr


class _Bounded:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buf = bytearray()
        self.truncated = False

    def add(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > self.limit:
            del self.buf[: len(self.buf) - self.limit]
            self.truncated = True

    def text(self) -> str:
        return self.buf.decode(errors="replace")


def exec_in(
    container: Container,
    argv: list[str],
    *,
    user: str = "",
    timeout: int = 120,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    max_output: int = MAX_OUTPUT,
) -> ExecResult:
    """Run ``argv`` in ``container`` (never through a host shell), with a timeout.

    The command is wrapped in ``timeout`` inside the container, so that it is killed
    there too; the client stops reading a little later in any case.
    """
    api = container.client.api
    wrapped = ["timeout", "-k", "5", str(int(timeout)), *argv]
    try:
        exec_id = api.exec_create(
            container.id,
            wrapped,
            user=user,
            environment=dict(env or {}),
            workdir=workdir,
            stdout=True,
            stderr=True,
        )["Id"]
        sock = api.exec_start(exec_id, socket=True)
    except docker.errors.APIError as exc:
        raise OduflowError(f"cannot run a command in {container.name}: {exc.explanation}") from None
    out, err = _Bounded(max_output), _Bounded(max_output)
    done = threading.Event()

    def pump() -> None:
        try:
            for stream_id, data in frames_iter(sock, tty=False):
                (err if stream_id == STDERR else out).add(data)
        except Exception:  # noqa: BLE001 - connection closed on timeout
            pass
        finally:
            done.set()

    threading.Thread(target=pump, daemon=True).start()
    finished = done.wait(timeout + 15)
    # a process left in the background keeps the output open: the socket is closed, not waited for
    _close_socket(sock)
    code = -1
    deadline = time.monotonic() + 5
    while finished and time.monotonic() < deadline:
        info = api.exec_inspect(exec_id)
        if not info.get("Running"):
            code = int(info.get("ExitCode") or 0)
            break
        time.sleep(0.05)
    timed_out = not finished or code in (124, 137)
    if timed_out and code == -1:
        code = 124
    return ExecResult(code, out.text(), err.text(), timed_out, out.truncated or err.truncated)


def _close_socket(sock: Any) -> None:
    """Shut down a raw engine socket (``exec_start(socket=True)``): a reader blocked on it returns."""
    raw = getattr(sock, "_sock", sock)
    with suppress(OSError):
        raw.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


@dataclass
class TtyExec:
    """A process started by :func:`exec_tty`: a TTY in the container, its stream on a raw socket.

    With a TTY the engine does not multiplex the stream: bytes written go to the terminal's input,
    bytes read are what the terminal shows (stdout and stderr together).
    """

    container: Container
    exec_id: str
    sock: Any
    closed: bool = False

    def read(self, size: int = 65536) -> bytes:
        """The next bytes the terminal shows (blocking); ``b""`` once the stream is closed."""
        try:
            return bytes(docker_socket.read(self.sock, size) or b"")
        except (OSError, ValueError):  # ValueError: closed by close() meanwhile
            return b""

    def write(self, data: bytes) -> None:
        """Type ``data`` on the terminal."""
        getattr(self.sock, "_sock", self.sock).sendall(data)

    def resize(self, cols: int, rows: int) -> None:
        """Set the terminal's size (the process gets ``SIGWINCH``)."""
        with suppress(docker.errors.APIError):  # the process has just ended
            self.container.client.api.exec_resize(self.exec_id, height=rows, width=cols)

    def running(self) -> bool:
        """Whether the process still runs."""
        try:
            return bool(self.container.client.api.exec_inspect(self.exec_id).get("Running"))
        except docker.errors.APIError:
            return False

    def close(self) -> None:
        """Close the stream (a reader blocked in :meth:`read` returns); the process is not killed."""
        if not self.closed:
            self.closed = True
            _close_socket(self.sock)


def exec_tty(
    container: Container,
    argv: list[str],
    *,
    user: str = "",
    env: Mapping[str, str] | None = None,
    size: tuple[int, int] = (80, 24),
) -> TtyExec:
    """Start ``argv`` in ``container`` on a new TTY of ``size`` (columns, rows), standard input open.

    The engine does not kill such a process when its stream closes: whoever starts one stops it
    (e.g. by its pid, see :mod:`oduflow.services.terminal`).
    """
    api = container.client.api
    try:
        exec_id = api.exec_create(
            container.id, argv, user=user, environment=dict(env or {}), stdin=True, tty=True
        )["Id"]
        sock = api.exec_start(exec_id, tty=True, socket=True)
    except docker.errors.APIError as exc:
        raise OduflowError(f"cannot run a command in {container.name}: {exc.explanation}") from None
    process = TtyExec(container, exec_id, sock)
    process.resize(*size)
    return process


def put_file(
    container: Container, path: str, data: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0
) -> None:
    """Write ``data`` to ``path`` inside ``container`` (docker ``put_archive``)."""
    directory, _, name = path.rpartition("/")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid = len(data), mode, uid, gid
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    try:
        ok = container.put_archive(directory or "/", buf.getvalue())
    except docker.errors.NotFound:
        raise NotFoundError(f"directory {directory or '/'} does not exist in {container.name}") from None
    if not ok:
        raise OduflowError(f"could not write {path} in {container.name}")


# --- throw-away containers -------------------------------------------------------------------
PROBE_TIMEOUT = 120
"""Seconds a short probe container (image user, version, volume contents) may run."""


@dataclass(frozen=True)
class JobResult:
    """How a throw-away container ended: exit code (124 when killed), bounded logs, timeout."""

    exit_code: int
    logs: str
    timed_out: bool = False
    truncated: bool = False


def discard(container: Container) -> None:
    """Remove ``container`` with its anonymous volumes (the ``VOLUME``s of its image).

    Every container Oduflow removes goes this way (or through :func:`remove_container`): the
    official ``odoo`` and ``postgres`` images declare volumes, and a container removed without
    ``v=True`` leaves one anonymous volume per declaration behind.
    """
    with suppress(docker.errors.NotFound):
        container.remove(v=True, force=True)


def create_container(
    client: DockerClient, image: str, *, name: str, labels: Mapping[str, str], **create: Any
) -> Container:
    """``containers.create`` for every container Oduflow makes (not started).

    A container whose image brought labels of Oduflow's or Traefik's namespace along is removed
    at once (``ValidationError``): it carries exactly the reserved labels given here
    (:mod:`oduflow.images`). ``create`` holds more ``containers.create`` arguments.
    """
    try:
        container = client.containers.create(image, name=name, labels=dict(labels), **create)
    except docker.errors.ImageNotFound:
        raise PrerequisiteNotMetError(f"image '{image}' not found") from None
    except docker.errors.APIError as exc:
        raise ExternalCommandError(
            f"cannot create container {name}", command="docker create", output=str(exc.explanation)
        ) from None
    try:
        images.check_container(container, labels)
    except ValidationError:
        discard(container)
        raise
    return container


@contextmanager
def throwaway(
    client: DockerClient, image: str, *, name: str, labels: Mapping[str, str], **create: Any
) -> Iterator[Container]:
    """A created (not started) container that is removed with its volumes when the block ends.

    ``create`` holds more ``containers.create`` arguments (command, volumes, user, ...).
    """
    container = create_container(client, image, name=name, labels=labels, **create)
    try:
        yield container
    finally:
        discard(container)


def wait_exit(container: Container, timeout: int) -> tuple[int, bool]:
    """(exit code, timed out) of a started container; killed after ``timeout`` seconds (code 124)."""
    try:
        return int(container.wait(timeout=timeout).get("StatusCode", -1)), False
    except docker.errors.APIError:
        raise
    except Exception:  # noqa: BLE001 - requests' ReadTimeout / ConnectionError
        with suppress(docker.errors.APIError):
            container.kill()
        return 124, True


LOG_READ_TIMEOUT = 60
"""Seconds one read of a container's logs may take (a huge log is cut, its end kept)."""


def read_logs(
    container: Container,
    *,
    tail: int | None = None,
    stdout: bool = True,
    stderr: bool = True,
    max_output: int = MAX_OUTPUT,
    timeout: float = LOG_READ_TIMEOUT,
) -> tuple[str, bool]:
    """(text, truncated) of a container's logs: the last ``tail`` lines, at most ``max_output`` bytes.

    Memory stays bounded whatever the container printed (even one endless line); reading
    stops after ``timeout`` seconds, with what was read so far.
    """
    buf = _Bounded(max_output)
    deadline = time.monotonic() + timeout
    chunks = container.logs(
        stdout=stdout, stderr=stderr, stream=True, follow=False, tail="all" if tail is None else tail
    )
    try:
        for chunk in chunks:
            buf.add(chunk)
            if time.monotonic() > deadline:
                buf.truncated = True
                break
    finally:
        with suppress(Exception):
            chunks.close()
    return buf.text(), buf.truncated


def start(container: Container) -> None:
    """Start a created container; ``ExternalCommandError`` when the engine refuses."""
    try:
        container.start()
    except docker.errors.APIError as exc:
        raise ExternalCommandError(
            f"cannot start container {container.name}", command="docker start", output=str(exc.explanation)
        ) from None


def finish(
    container: Container,
    timeout: int,
    *,
    tail: int | None = None,
    stdout: bool = True,
    stderr: bool = True,
    max_output: int = MAX_OUTPUT,
) -> JobResult:
    """Start a created container, wait for it (at most ``timeout`` s) and read its bounded logs."""
    start(container)
    code, timed_out = wait_exit(container, timeout)
    logs, truncated = read_logs(container, tail=tail, stdout=stdout, stderr=stderr, max_output=max_output)
    return JobResult(code, logs, timed_out, truncated)


def run_to_completion(
    client: DockerClient,
    image: str,
    *,
    name: str,
    labels: Mapping[str, str],
    timeout: int,
    tail: int | None = None,
    stdout: bool = True,
    stderr: bool = True,
    max_output: int = MAX_OUTPUT,
    **create: Any,
) -> JobResult:
    """Run a one-off container of ``image`` to its end; it is always removed with its volumes.

    Use it instead of ``containers.run(remove=True)``, which removes without the volumes.
    ``create`` holds more ``containers.create`` arguments (entrypoint, command, volumes, ...).
    """
    with throwaway(client, image, name=name, labels=labels, **create) as container:
        return finish(container, timeout, tail=tail, stdout=stdout, stderr=stderr, max_output=max_output)


def start_service(
    client: DockerClient, image: str, *, name: str, labels: Mapping[str, str], **create: Any
) -> Container:
    """Create and start a long-lived container; one that cannot start is removed with its volumes.

    (``containers.run(detach=True)`` would leave a created container behind.) It is removed
    later by :func:`remove_container`, which takes its anonymous volumes too.
    """
    container = create_container(client, image, name=name, labels=labels, **create)
    try:
        start(container)
    except ExternalCommandError:
        discard(container)
        raise
    return container


# --- what removed containers and failed builds left behind ---------------------------------
_VOLUME_ID = re.compile(r"[0-9a-f]{64}")
_PROBE_BATCH = 100
# prints the mount points (under /v/) that hold nothing but directories; a failing find is "holds data"
_EMPTY_SCRIPT = (
    'for d in /v/*; do o=$(find "$d" ! -type d -print -quit) || continue; '
    '[ -z "$o" ] && echo "${d#/v/}"; done; true'
)


def dangling_anonymous_volumes(client: DockerClient) -> list[str]:
    """Volumes no container uses, without labels, named by a 64-hex id (as anonymous ones are)."""
    volumes = client.api.volumes(filters={"dangling": True}).get("Volumes") or []
    return sorted(v["Name"] for v in volumes if _VOLUME_ID.fullmatch(v["Name"]) and not v.get("Labels"))


def empty_volumes(
    client: DockerClient, names: list[str], *, image: str, name: str, labels: Mapping[str, str]
) -> list[str]:
    """Those of ``names`` that hold no file (directories at most), looked at read-only in ``image``.

    The volumes are mounted by name, so removing the probe container leaves them in place.
    A volume that cannot be looked at counts as holding data.
    """
    empty: list[str] = []
    for start in range(0, len(names), _PROBE_BATCH):
        batch = names[start : start + _PROBE_BATCH]
        try:
            res = run_to_completion(
                client,
                image,
                name=f"{name}-{start // _PROBE_BATCH}",
                labels=labels,
                timeout=PROBE_TIMEOUT,
                entrypoint=["sh", "-c", _EMPTY_SCRIPT],
                user="root",
                network_disabled=True,
                stderr=False,
                volumes={n: {"bind": f"/v/{n}", "mode": "ro"} for n in batch},
            )
        except OduflowError:
            continue
        if res.exit_code == 0 and not res.truncated:
            seen = set(res.logs.split())
            empty += [n for n in batch if n in seen]
    return empty


def untagged_images(client: DockerClient, labels: Mapping[str, str]) -> list[str]:
    """Ids of dangling images carrying all of ``labels`` that no container (even stopped) uses."""
    filters: dict[str, Any] = {"dangling": True, "label": [f"{k}={v}" for k, v in labels.items()]}
    used = {c.get("ImageID") for c in client.api.containers(all=True)}
    return sorted(i["Id"] for i in client.api.images(filters=filters) if i["Id"] not in used)


def remove_volume(client: DockerClient, name: str) -> bool:
    """Remove volume ``name`` (never forced: one in use stays); False when it was gone already."""
    try:
        client.api.remove_volume(name)
    except docker.errors.NotFound:
        return False
    return True


def remove_image(client: DockerClient, image_id: str) -> bool:
    """Remove an image (and its untagged parents) by id; False when it was gone already."""
    try:
        client.images.remove(image_id, force=True)
    except docker.errors.ImageNotFound:
        return False
    return True


class LogFollower:
    """The last ``tail`` lines of a container's log, then the lines it prints, bounded.

    :meth:`lines` blocks (run it in a worker thread) and ends after ``max_lines`` lines,
    ``timeout`` seconds, when the container stops or when :meth:`close` is called from any
    thread; a line longer than ``max_line_bytes`` is cut. Memory stays bounded either way.
    """

    def __init__(
        self, container: Container, *, tail: int, timeout: float, max_lines: int, max_line_bytes: int = 8192
    ) -> None:
        self.max_lines = max_lines
        self.max_line_bytes = max_line_bytes
        self.reason = "container stopped"
        """Why :meth:`lines` ended: ``container stopped``, ``deadline``, ``line cap`` or ``closed``."""
        self._stream = container.logs(stdout=True, stderr=True, stream=True, follow=True, tail=tail)
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout, self.close, kwargs={"reason": "deadline"})
        self._timer.daemon = True
        self._timer.start()

    def close(self, reason: str = "closed") -> None:
        """Stop following (idempotent, thread-safe): :meth:`lines` returns soon after."""
        with self._lock:
            if self._closed.is_set():
                return
            self.reason = reason
            self._closed.set()
        self._timer.cancel()
        with suppress(Exception):  # the socket may already be gone
            self._stream.close()

    def lines(self) -> Iterator[str]:
        """Each log line (without its newline) until one of the bounds above is reached."""
        pending, count = bytearray(), 0
        try:
            for chunk in self._stream:
                pending += chunk
                *complete, rest = pending.split(b"\n")
                pending = bytearray(rest[: self.max_line_bytes])
                for line in complete:
                    yield line[: self.max_line_bytes].decode(errors="replace")
                    count += 1
                    if count >= self.max_lines:
                        self.close("line cap")
                        return
            if pending and not self._closed.is_set():
                yield pending.decode(errors="replace")
        except Exception:  # a read on the socket close() shut down; anything else is re-raised
            if not self._closed.is_set():
                raise
        finally:
            self.close("container stopped")  # no-op when closed already (the reason is kept)
