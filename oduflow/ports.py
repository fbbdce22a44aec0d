"""Stable host-port registry on top of the state store.

An owner (an environment, a template editor, a service) keeps its port for as long as
it exists, across container and server restarts. Ports come from the team's
``port_range`` ``[start, end)``; a port some other process is listening on is skipped.
"""

from __future__ import annotations

import socket
import time

from oduflow.errors import ConflictError
from oduflow.state import StateStore


def port_is_free(port: int) -> bool:
    """True when nothing listens on ``port`` (checked by binding it briefly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


class PortRegistry:
    """Assign and release ports of one team."""

    def __init__(self, store: StateStore, team: str, port_range: tuple[int, int]) -> None:
        self.store = store
        self.team = team
        self.start, self.end = port_range

    def get(self, owner: str) -> int | None:
        with self.store._lock:
            row = self.store._conn.execute(
                "SELECT port FROM ports WHERE team=? AND owner=?", (self.team, owner)
            ).fetchone()
        return int(row["port"]) if row else None

    def assign(self, owner: str) -> int:
        """The port of ``owner``: its existing one, else the lowest free one of the range."""
        with self.store.tx() as c:
            row = c.execute("SELECT port FROM ports WHERE team=? AND owner=?", (self.team, owner)).fetchone()
            if row:
                return int(row["port"])
            taken = {int(r["port"]) for r in c.execute("SELECT port FROM ports").fetchall()}
            for port in range(self.start, self.end):
                if port not in taken and port_is_free(port):
                    c.execute("INSERT INTO ports VALUES (?,?,?,?)", (self.team, owner, port, time.time()))
                    return port
        raise ConflictError(
            f"team {self.team}: no free port left in "
            f"[{self.start}, {self.end}); delete an environment or widen port_range"
        )

    def release(self, owner: str) -> None:
        with self.store.tx() as c:
            c.execute("DELETE FROM ports WHERE team=? AND owner=?", (self.team, owner))

    def all(self) -> dict[str, int]:
        with self.store._lock:
            rows = self.store._conn.execute(
                "SELECT owner, port FROM ports WHERE team=? ORDER BY port", (self.team,)
            ).fetchall()
        return {r["owner"]: int(r["port"]) for r in rows}
