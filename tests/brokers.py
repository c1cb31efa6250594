"""Broker-agnostic helpers for the end-to-end runtime tests (Redis and RabbitMQ).

``make test`` runs the tests marked ``broker`` once per broker (``RAWR_TEST_BROKERS``,
scripts/test.sh): on Redis with the whole suite, then on RabbitMQ in a virtual host of the
session's own, so nothing here may assume one broker:

* ``forget_queue`` drops what a test leaves on a queue no session worker consumes;
* ``BrokerOutage`` is a broker a test can take away and bring back: a private
  ``redis-server`` for Redis (a real restart, which loses every message), and for RabbitMQ
  a TCP proxy in front of the shared server (``TcpProxy``): stopping it resets every
  client connection and refuses new ones, which is what clients see while RabbitMQ
  restarts, without restarting a server other sessions use. Durable queues outlive a
  RabbitMQ restart, and they outlive the proxy's outage the same way.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import pytest
from kombu import Connection

from tests.workers import RedisServer, _free_port

#: Redis keys kombu keeps per queue (``.format(queue)``); with ``priority_steps`` the
#: messages of priority N > 0 wait in ``<queue>:N``.
REDIS_QUEUE_KEYS = ("{}", "_kombu.binding.{}", "_kombu.binding_permanent.{}")
REDIS_PRIORITY_STEPS = range(1, 10)


def broker_kind(url: str) -> str:
    """``redis`` or ``amqp`` (what ``RAWR_TEST_BROKERS`` names)."""
    scheme = urlsplit(url).scheme
    if scheme in {"redis", "rediss"}:
        return "redis"
    if scheme in {"amqp", "pyamqp", "amqps"}:
        return "amqp"
    return scheme


def forget_queue(broker_url: str, queue: str, run_ids: list[str] | tuple[str, ...] = ()) -> None:
    """Drop the messages left on ``queue`` (which no session worker consumes).

    Redis also keeps the message a killed worker had taken (``unacked``) and would give it
    back to a consumer of ``queue`` after the visibility timeout, an hour later: those of
    ``run_ids`` are dropped too. RabbitMQ gives an unacknowledged message back as soon as
    its connection closes, so a purge is all it needs (and the session's virtual host is
    deleted when the suite ends).
    """
    if broker_kind(broker_url) == "redis":
        import redis

        client = redis.Redis.from_url(broker_url)
        keys = [key.format(queue) for key in REDIS_QUEUE_KEYS]
        keys += [f"{queue}:{step}" for step in REDIS_PRIORITY_STEPS]
        client.delete(*keys)
        for tag, payload in client.hgetall("unacked").items():
            if any(run_id.encode() in payload for run_id in run_ids):
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        return
    with Connection(broker_url, connect_timeout=5) as conn:
        channel = conn.channel()
        try:
            channel.queue_purge(queue)
        except conn.channel_errors:  # never declared: nothing to drop
            pass
        finally:
            with contextlib.suppress(*conn.channel_errors, *conn.connection_errors):
                channel.close()


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; ``stop()`` is an outage, ``start()`` ends it.

    While stopped nothing listens on the port (connections are refused) and every
    connection that was open has been reset on both sides.
    """

    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.port = port or _free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._accepting: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
        with self._lock:
            open_sockets, self._sockets = self._sockets, set()
        for sock in open_sockets:
            # SO_LINGER 0: close with a reset, like a server process that went away.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # stopped
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        pair = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select(list(pair), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):  # reset by stop(), or a closed descriptor
            return
        finally:
            with self._lock:
                self._sockets.discard(client)
                self._sockets.discard(upstream)
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()


class BrokerOutage(Protocol):
    """A broker a test takes away (``stop``) and brings back (``start``) at ``url``."""

    url: str

    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class _RedisOutage:
    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.url = server.url

    @property
    def running(self) -> bool:
        return self.server.process is not None

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


class _ProxiedOutage:
    """The configured broker behind a ``TcpProxy``: same credentials and virtual host."""

    def __init__(self, broker_url: str, default_port: int) -> None:
        parts = urlsplit(broker_url)
        self.proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or default_port))
        credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        self.url = parts._replace(netloc=f"{credentials}127.0.0.1:{self.proxy.port}").geturl()

    @property
    def running(self) -> bool:
        return self.proxy.running

    def start(self) -> None:
        self.proxy.start()
        deadline = time.monotonic() + 5
        while not self._answers():
            if time.monotonic() > deadline:
                pytest.fail(f"the broker proxy on port {self.proxy.port} does not answer")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proxy.stop()

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=0.5):
                return True
        except OSError:
            return False


def start_broker_outage(broker_url: str, log_dir: Path) -> BrokerOutage:
    """A running broker for an outage drill, of the same kind as ``broker_url``."""
    if broker_kind(broker_url) == "redis":
        server = RedisServer(_free_port(), log_dir / "redis-server.log")
        outage: BrokerOutage = _RedisOutage(server)
    else:
        outage = _ProxiedOutage(broker_url, default_port=5672)
    outage.start()
    return outage
