"""The service's port: the sockets of one process, and uvicorn's supervisor over ``serve --processes N``.

:func:`bind` binds every address the host name resolves to (``localhost``: 127.0.0.1 and ::1, as asyncio's
``create_server`` binds them), inheritable, not yet listening: uvicorn listens on them.

With several processes, each listens on sockets of its own, all bound to the port with ``SO_REUSEPORT``,
so the kernel spreads new connections over the processes (by a hash of each connection's addresses).
With one socket shared by the processes, as uvicorn's supervisor binds it, the process that woke first
accepted every connection waiting: in 1 round of 3 to 1 of 8 of ``bench/bench_serve.py``, all 8 clients'
keep-alive connections went to one process, and the other stayed idle. The command first binds the port
without ``SO_REUSEPORT`` (:func:`bind`'s default), so a port another program (or another service) listens
on is refused. The supervisor then binds each process's sockets and listens on them before it starts the
process: a connection that arrives while the process loads its model waits in its queue, and the port is
never left open to another program's bind. A connection still waiting in the queue of a process that
stops (SIGTERM, a restart, a crash) is reset, where a shared socket would have let another process take it
(Linux 5.14 and later move such connections when ``net.ipv4.tcp_migrate_req`` is 1).
"""

from __future__ import annotations

import socket
import sys
from typing import Any

#: Whether this system can give each service process a socket of its own on one port.
REUSE_PORT = hasattr(socket, "SO_REUSEPORT")


def addresses(host: str, port: int) -> list[tuple[int, tuple]]:
    """``(family, address)`` for each distinct address ``host`` resolves to, for a server."""
    out: list[tuple[int, tuple]] = []
    for family, _, _, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                       flags=socket.AI_PASSIVE):
        if (family, address) not in out:
            out.append((family, address))
    return out


def bind(host: str, port: int, reuse_port: bool = False) -> list[socket.socket]:
    """Sockets bound to ``port`` on every address of ``host`` (port 0: the port the first one gets);
    ``SO_REUSEADDR`` as uvicorn binds (a port whose old connections linger in TIME_WAIT is bound again at
    once), and with ``reuse_port`` ``SO_REUSEPORT`` (the processes of ``serve --processes``). Raises
    OSError (none left open) when one cannot be bound."""
    found = addresses(host, port)
    sockets: list[socket.socket] = []
    try:
        for family, address in found:
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6 and len(found) > 1:      # its IPv4 twin is bound beside it
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.set_inheritable(True)
    except OSError:
        close(sockets)
        raise
    return sockets


def close(sockets: list[socket.socket]) -> None:
    while sockets:
        sockets.pop().close()


def refusal(host: str, port: int, exc: OSError) -> str:
    return f"serve: cannot listen on {host}:{port} ({exc.strerror or exc})"


def supervise(config: Any, probe: list[socket.socket]) -> int:
    """uvicorn's supervisor (``Multiprocess``, what ``uvicorn.run`` runs for ``workers`` above 1) over
    ``config.workers`` service processes, each on sockets of its own (module doc), ``probe`` being the
    port as the command bound it (closed here). Also: on SIGTERM or SIGINT the supervisor closes the
    sockets it keeps (bound, not listening: they hold the port between a process and its replacement), so
    once the processes have closed theirs a new connection is refused; a process that could not load the model (it exits with uvicorn's
    ``STARTUP_FAILURE``, so it is not restarted) makes the command exit 2 after the others stop; a socket
    that cannot be bound for a process stops them all, and the command exits 1."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    port = probe[0].getsockname()[1]
    close(probe)
    try:
        held = bind(config.host, port, reuse_port=True)
    except OSError as exc:
        print(refusal(config.host, port, exc), file=sys.stderr)
        return 1
    handed: list[socket.socket] = []
    failed: list[str] = []

    class Supervisor(Multiprocess):
        # uvicorn reads ``self.sockets`` once for each process it starts (at start, on a restart, for a
        # process that died): each gets new sockets; this process's copies are closed once it has started
        # (spawn handed them over at its start), so a process that stops takes its sockets out of the port.
        @property
        def sockets(self) -> list[socket.socket]:
            try:
                mine = bind(config.host, port, reuse_port=True)
                handed.extend(mine)
                for sock in mine:
                    sock.listen(config.backlog)
            except OSError as exc:              # e.g. no file descriptor left: stop, and say why
                failed.append(refusal(config.host, port, exc))
                print(failed[-1], file=sys.stderr, flush=True)
                self.should_exit.set()
                return []                       # a process with no socket, stopped with the others
            return mine

        @sockets.setter
        def sockets(self, value: list[socket.socket]) -> None:
            pass

        def init_processes(self) -> None:
            super().init_processes()
            close(handed)

        def keep_subprocess_alive(self) -> None:
            super().keep_subprocess_alive()
            close(handed)

        def restart_all(self) -> None:
            super().restart_all()
            close(handed)

        def handle_ttin(self) -> None:
            super().handle_ttin()
            close(handed)

        def handle_term(self) -> None:
            close(held)
            super().handle_term()

        def handle_int(self) -> None:
            close(held)
            super().handle_int()

    supervisor = Supervisor(config, sockets=[])
    try:
        supervisor.run()
    finally:
        close(held)
        close(handed)
    if failed:
        return 1
    return 2 if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes) else 0
