"""Thin adapter over docker-py: connection, images, containers, exec with timeouts.

Every call into a container has a timeout and a bounded output.
"""

from __future__ import annotations

import io
import tarfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
from docker import DockerClient
from docker.models.containers import Container

from oduflow.errors import (
    ExternalCommandError,
    NotFoundError,
    OduflowError,
    PrerequisiteNotMetError,
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


def image_user(client: DockerClient, image: str, name: str, labels: dict[str, str]) -> tuple[int, int]:
    """UID and GID the image runs as (``id -u``/``id -g`` in a throw-away container ``name``)."""
    out = client.containers.run(
        image,
        name=name,
        labels=labels,
        entrypoint=["sh", "-c", "id -u; id -g"],
        remove=True,
        stdout=True,
        stderr=False,
        network_disabled=True,
    )
    try:
        uid, gid = (int(x) for x in out.decode().split())
    except ValueError:
        raise ExternalCommandError(
            f"cannot read the user of image '{image}'",
            command="id -u; id -g",
            output=out.decode(errors="replace"),
        ) from None
    return uid, gid


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
        stream = api.exec_start(exec_id, stream=True, demux=True)
    except docker.errors.APIError as exc:
        raise OduflowError(f"cannot run a command in {container.name}: {exc.explanation}") from None
    out, err = _Bounded(max_output), _Bounded(max_output)
    done = threading.Event()

    def pump() -> None:
        try:
            for o, e in stream:
                if o:
                    out.add(o)
                if e:
                    err.add(e)
        except Exception:  # noqa: BLE001 - connection closed on timeout
            pass
        finally:
            done.set()

    threading.Thread(target=pump, daemon=True).start()
    finished = done.wait(timeout + 15)
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


def wait_healthy_exit(container: Container, timeout: int) -> dict[str, Any]:
    """Wait for a job container to exit; kill it after ``timeout`` seconds."""
    try:
        return dict(container.wait(timeout=timeout))
    except Exception:  # noqa: BLE001 - requests' ReadTimeout / ConnectionError
        container.kill()
        return {"StatusCode": 124, "Error": {"Message": f"timed out after {timeout} s"}}
