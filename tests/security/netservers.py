"""Real servers the network attack tests point Oduflow at (each records what reached it).

- :class:`GitHttpServer`: bare repositories served by ``git http-backend`` (CGI behind a small
  threaded HTTP server), optionally behind HTTP Basic authentication and over TLS (a
  certificate of a :class:`LocalCa`), or answering every request with a redirect instead.
- :class:`RebindingDns`: a DNS server whose first answer for a name is one address and every
  later answer another one (DNS rebinding); :func:`in_rebinding_namespace` runs a command with
  ``/etc/resolv.conf`` pointing at it (a private mount namespace, the host's file untouched).
- :class:`Sshd`: OpenSSH's ``sshd`` on a loopback port with its own host key and authorized
  keys, logging every public key a client offers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

CLEAN_GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


def plain_git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run git with a clean configuration (the test's own git, not Oduflow's)."""
    full = {**os.environ, **CLEAN_GIT_ENV, **(env or {})}
    full.pop("GIT_DIR", None)
    proc = subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def make_bare_repo(root: Path, name: str = "repo.git", branch: str = "main") -> Path:
    """A bare repository with one commit on ``branch``; returns its path."""
    work = root / f"{name}.work"
    plain_git("init", "-q", "-b", branch, str(work))
    (work / "README.md").write_text("served over the network\n")
    ident = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    plain_git("add", "-A", cwd=work)
    plain_git("commit", "-qm", "initial", cwd=work, env=ident)
    bare = root / name
    plain_git("clone", "-q", "--bare", str(work), str(bare))
    return bare


@dataclass
class Seen:
    """One request a server received."""

    method: str
    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self.server.owner.handle(self)

    def do_POST(self) -> None:
        self.server.owner.handle(self)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: HttpServer


def read_body(req: BaseHTTPRequestHandler) -> bytes:
    """The request body (``Content-Length`` or chunked)."""
    if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(req.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                req.rfile.readline()
                return b"".join(chunks)
            chunks.append(req.rfile.read(size))
            req.rfile.readline()
    return req.rfile.read(int(req.headers.get("Content-Length") or 0))


@dataclass
class LocalCa:
    """A certificate authority of the test (``openssl``) and a server certificate it signed for
    127.0.0.1 and ``localhost``: only a git run told to trust ``ca_file`` accepts that server."""

    root: Path

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.pem"

    def create(self) -> LocalCa:
        self.root.mkdir(parents=True, exist_ok=True)
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                      "-subj", "/CN=oduflow test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
        self._openssl("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
        (self.root / "ext.cnf").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        )
        self._openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days", "2",
                      "-CAcreateserial", "-out", "server.pem", "-extfile", "ext.cnf")  # fmt: skip
        return self

    def _openssl(self, *args: str) -> None:
        if shutil.which("openssl") is None:
            raise AssertionError("the TLS tests need the openssl command (apt-get install openssl)")
        proc = subprocess.run(["openssl", *args], cwd=self.root, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise AssertionError(f"openssl {args[0]} failed: {proc.stderr}")

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.root / "server.pem", self.root / "server.key")
        return ctx


@dataclass
class HttpServer:
    """A threaded HTTP server on ``host`` whose requests go to :meth:`respond` (over TLS with
    ``tls``)."""

    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    _server: _Server | None = None

    def start(self) -> HttpServer:
        self._server = _Server((self.host, self.port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        if self.tls is not None:  # the handshake happens in the request's own thread
            sock = self.tls.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
            self._server.socket = sock
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str = "") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{host}:{self.port}/{path.lstrip('/')}"

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        self.requests.append(Seen(req.command, req.path, dict(req.headers.items())))
        self.respond(req)

    def respond(self, req: BaseHTTPRequestHandler) -> None:
        send(req, 404, b"not found\n")


def send(
    req: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    req.send_response(status)
    for key, value in (headers or {}).items():
        req.send_header(key, value)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    with contextlib.suppress(OSError):
        req.wfile.write(body)


@dataclass
class RedirectServer(HttpServer):
    """Answers every request with ``status`` to ``target`` + the request path."""

    target: str = ""
    status: int = 302

    def respond(self, req: BaseHTTPRequestHandler) -> None:
        send(req, self.status, b"", {"Location": self.target.rstrip("/") + req.path})


@dataclass
class GitHttpServer(HttpServer):
    """``git http-backend`` over the bare repositories under ``root``."""

    root: Path = Path("/nonexistent")
    auth: tuple[str, str] | None = None
    """(user, password) the server requires (HTTP Basic), or None."""

    def authorized(self, req: BaseHTTPRequestHandler) -> str | None:
        """The authenticated user ("" without authentication), None when refused."""
        if self.auth is None:
            return ""
        header = req.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if (user, password) == self.auth:
                return user
        return None

    def respond(self, req: BaseHTTPRequestHandler) -> None:
        user = self.authorized(req)
        if user is None:
            send(req, 401, b"auth required\n", {"WWW-Authenticate": 'Basic realm="git"'})
            return
        body = read_body(req)
        path, _, query = req.path.partition("?")
        env = {
            "PATH": os.environ["PATH"],
            **CLEAN_GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "REQUEST_METHOD": req.command,
            "CONTENT_TYPE": req.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": req.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": req.headers.get("Git-Protocol", ""),
            "REMOTE_USER": user,
            "REMOTE_ADDR": req.client_address[0],
        }
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=60)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        headers = dict(line.split(": ", 1) for line in head.decode("latin-1").splitlines() if ": " in line)
        status = int(headers.pop("Status", "200").split()[0])
        send(req, status, payload, headers)


# --- DNS rebinding ----------------------------------------------------------------------------
@dataclass
class RebindingDns:
    """Answers A queries for ``name``: ``first`` once, then ``later``; nothing for other names."""

    name: str
    first: str
    later: str
    host: str = field(default_factory=lambda: "127.53.{}.{}".format(*secrets.token_bytes(2)))
    """A loopback address of its own (sessions running at the same time do not collide)."""
    answers: list[str] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stopped: bool = False

    def start(self) -> RebindingDns:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((self.host, 53))
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stopped:
            try:
                data, peer = self._sock.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            with contextlib.suppress(Exception):
                self._sock.sendto(self._answer(data), peer)

    def _answer(self, query: bytes) -> bytes:
        qid, _flags, qdcount = struct.unpack(">HHH", query[:6])
        labels, pos = [], 12
        while query[pos]:
            labels.append(query[pos + 1 : pos + 1 + query[pos]].decode().lower())
            pos += 1 + query[pos]
        qtype = struct.unpack(">H", query[pos + 1 : pos + 3])[0]
        question = query[12 : pos + 5]
        name = ".".join(labels)
        if name != self.name.rstrip(".").lower():
            return struct.pack(">HHHHHH", qid, 0x8183, qdcount, 0, 0, 0) + question  # NXDOMAIN
        if qtype != 1:  # AAAA and the rest: no data
            return struct.pack(">HHHHHH", qid, 0x8180, qdcount, 0, 0, 0) + question
        address = self.first if not self.answers else self.later
        self.answers.append(address)
        record = struct.pack(">HHHLH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(address)
        return struct.pack(">HHHHHH", qid, 0x8180, qdcount, 1, 0, 0) + question + record


def in_rebinding_namespace(argv: list[str], dns: RebindingDns, tmp: Path, timeout: int = 120) -> str:
    """Run ``argv`` (from the repository root) in a private mount namespace whose
    ``/etc/resolv.conf`` names ``dns``; returns its output."""
    resolv = tmp / "resolv.conf"
    resolv.write_text(f"nameserver {dns.host}\noptions attempts:1 timeout:2\n")
    script = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'
    proc = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, "sh", str(resolv), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[2],
    )
    return proc.stdout + proc.stderr


# --- sshd -------------------------------------------------------------------------------------
def keygen(path: Path) -> str:
    """A new ed25519 key at ``path``; returns its SHA256 fingerprint."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    out = subprocess.run(["ssh-keygen", "-lf", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[1]


@dataclass
class Sshd:
    """``sshd`` on 127.0.0.1 accepting the keys in ``authorized`` for user root."""

    root: Path
    authorized: list[Path]
    port: int = 0
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        return (self.root / "sshd.log").read_text(errors="replace")

    def offered_keys(self) -> list[str]:
        """Fingerprints of the public keys clients offered (from the debug log)."""
        return re.findall(
            r"SHA256:[A-Za-z0-9+/]+",
            "\n".join(
                line for line in self.log.splitlines() if "userauth_pubkey" in line or "Accepted key" in line
            ),
        )

    def start(self) -> Sshd:
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if not Path(sshd).exists():
            raise AssertionError("the SSH tests need OpenSSH's sshd (apt-get install openssh-server)")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        keygen(self.root / "host_key")
        (self.root / "authorized_keys").write_text(
            "".join(Path(f"{k}.pub").read_text() for k in self.authorized)
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        options = {
            "ListenAddress": f"127.0.0.1:{self.port}",
            "HostKey": str(self.root / "host_key"),
            "AuthorizedKeysFile": str(self.root / "authorized_keys"),
            "PidFile": "none",
            "StrictModes": "no",
            "UsePAM": "no",
            "PermitRootLogin": "prohibit-password",
            "PasswordAuthentication": "no",
            "KbdInteractiveAuthentication": "no",
            "LogLevel": "DEBUG3",
        }
        argv = [sshd, "-D", "-e", "-f", os.devnull, *(f"-o{k}={v}" for k, v in options.items())]
        log = (self.root / "sshd.log").open("wb")
        self._proc = subprocess.Popen(argv, stdout=log, stderr=log)
        wait_port("127.0.0.1", self.port, lambda: self._proc is not None and self._proc.poll() is None)
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)


def wait_port(host: str, port: int, alive: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {host}:{port}")


@contextlib.contextmanager
def ssh_agent(tmp: Path, key: Path) -> Iterator[str]:
    """A running ``ssh-agent`` holding ``key``; yields its socket path."""
    sock = str(tmp / "agent.sock")
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: Path(sock).exists())
        subprocess.run(["ssh-add", "-q", str(key)], env={**os.environ, "SSH_AUTH_SOCK": sock}, check=True)
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_for(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


# --- a listener that only counts -------------------------------------------------------------
@dataclass
class ConnectionCounter:
    """Accepts TCP connections on every local address (IPv4 and IPv6) of one port and counts them."""

    port: int = 0
    accepted: list[str] = field(default_factory=list)
    _sock: socket.socket | None = None

    def start(self) -> ConnectionCounter:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", self.port))
        sock.listen(16)
        self._sock, self.port = sock, sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        assert self._sock is not None
        while True:
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return
            self.accepted.append(str(peer[0]))
            conn.close()

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> ConnectionCounter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def restricted_app(app: Any, *allowed: str, **limits: int) -> Any:
    """``app`` with the default address policy plus ``allowed`` (the test servers) as the
    operator's ``[server].allowed_hosts``, and ``limits`` overriding ``[limits]``."""
    from oduflow.app import App

    cfg = app.config
    server = replace(cfg.server, allow_local_repos=False, allowed_hosts=tuple(allowed))
    return App(replace(cfg, server=server, limits=replace(cfg.limits, **limits)))


def network_gateway(app: Any) -> str:
    """The gateway address of the instance's Docker network (an address of this host)."""
    net = app.docker().networks.get(app.names.network)
    return str(net.attrs["IPAM"]["Config"][0]["Gateway"])


# --- a hostile "Odoo" --------------------------------------------------------------------------
Responder = Callable[[BaseHTTPRequestHandler, bytes], None]


def json_reply(req: BaseHTTPRequestHandler, result: object, status: int = 200) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": result}).encode()
    send(req, status, body, {"Content-Type": "application/json"})


@dataclass
class FakeOdoo(HttpServer):
    """Answers the routes an import uses (version, database list, backup) as the test sets them."""

    version: dict[str, Any] = field(default_factory=lambda: {"server_serie": "18.0"})
    databases: list[Any] = field(default_factory=lambda: ["prod"])
    backup_zip: Path | None = None
    forms: list[dict[str, list[str]]] = field(default_factory=list)
    """The parsed forms of the backup requests (what the server received)."""
    overrides: dict[str, Responder] = field(default_factory=dict)

    def respond(self, req: BaseHTTPRequestHandler) -> None:
        body = read_body(req)
        path = req.path.partition("?")[0]
        if path in self.overrides:
            self.overrides[path](req, body)
        elif path == "/web/webclient/version_info":
            json_reply(req, self.version)
        elif path == "/jsonrpc":
            json_reply(req, self.databases)
        elif path == "/web/database/backup":
            self.forms.append(parse_qs(body.decode()))
            if self.backup_zip is None:
                send(req, 404, b"database manager disabled\n")
                return
            data = self.backup_zip.read_bytes()
            send(req, 200, data, {"Content-Type": "application/octet-stream"})
        else:
            send(req, 404, b"not found\n")


# --- backups -----------------------------------------------------------------------------------
MINIMAL_DUMP = (
    "CREATE TABLE public.ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL);\n"
    "INSERT INTO public.ir_module_module (name) VALUES ('base');\n"
)


def backup_zip(
    path: Path, members: dict[str, bytes] | None = None, manifest: dict[str, Any] | None = None
) -> Path:
    """An Odoo-style backup zip: ``dump.sql``, ``manifest.json`` and ``members`` (deflated)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("dump.sql", MINIMAL_DUMP)
        zf.writestr("manifest.json", json.dumps(manifest or {"version": "18.0", "major_version": "18.0"}))
        for name, data in (members or {}).items():
            zf.writestr(name, data)
    return path
