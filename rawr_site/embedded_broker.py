"""A filesystem Celery transport that is safe at fast polling.

Why not kombu's stock ``filesystem://``: its producer writes the message straight into the
queue folder under its final name, so a consumer polling every 100 ms can pick up a
half-written file, fail to decode it and take the worker down. Why not the SQLAlchemy
transport on SQLite: it ignores ``polling_interval`` and keeps every consumed row.

This transport keeps kombu's design (one file per message, ordered by name; one JSON
binding table per exchange in the control folder) and fixes its races:

* publish writes to a hidden temporary name, ``fsync``s and then ``os.replace``s it into
  place, so a consumer only ever sees complete messages;
* consume claims a message by ``os.rename`` into a processing folder on the same
  filesystem (atomic, so two workers never both get it) and quarantines a file it cannot
  turn into a message (renamed ``*.bad`` in the processing folder) instead of raising;
* a consumer only takes files of its own queue, by exact name: ``x.work`` and ``work``
  are different queues;
* binding tables are created and rewritten under an exclusive lock without truncating
  first, so processes that start together never lose each other's bindings (a lost
  binding silently drops every message routed through it);
* the in-memory binding cache is kept per broker folder, not per process, so a process
  that talks to two folders (tests do) binds in both.

Limits: a message is in no folder while a worker holds it unacknowledged, so a worker
killed with SIGKILL loses what it held (a warm shutdown or a crashed pool child requeues
it). It is meant for the embedded default (one machine, a web process and a few workers).
Anything bigger should set ``CELERY_BROKER_URL`` to Redis or RabbitMQ.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

Row = filesystem.exchange_queue_t

# What a file that is not a kombu message raises while being decoded: bad JSON or UTF-8
# (ValueError), bad base64 body (binascii.Error, a ValueError), wrong shape (the rest).
_UNREADABLE = (OSError, ValueError, TypeError, KeyError, AttributeError)


class Channel(filesystem.Channel):
    """Filesystem channel with atomic publish, atomic claim and locked binding tables."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for folder in (self.data_folder_in, self.data_folder_out, self.processed_folder):
            Path(folder).mkdir(parents=True, exist_ok=True)
        self.control_folder.mkdir(parents=True, exist_ok=True)

    # -- messages -----------------------------------------------------------------------
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Hidden and without the ".msg" suffix: _get never matches it.
        temp = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.partial")
        try:
            with open(temp, "wb") as handle:
                handle.write(dumps(payload).encode())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
        except OSError as exc:
            raise ChannelError(f"cannot publish to {self.data_folder_out!r}: {exc}") from exc

    def _get(self, queue: str) -> Any:
        # Names are "<time>_<uuid>.<queue>.msg" and the first two parts hold no dot, so
        # the queue is everything after the first dot, whatever dots it contains.
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.startswith(".") or name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            except OSError as exc:  # e.g. EXDEV: the two folders are on different disks
                raise ChannelError(f"cannot claim message {name}: {exc}") from exc
            payload = self._read_claimed(claimed)
            if payload is not None:
                return payload
        raise Empty()

    def _read_claimed(self, path: str) -> dict[str, Any] | None:
        """The claimed message, or ``None`` after moving an unusable file to ``*.bad``."""
        try:
            with open(path, "rb") as handle:
                payload = loads(handle.read())
            # Build the message the way delivery will, so a file that would crash the
            # consumer there (no properties, bad body encoding) is caught here instead.
            self.Message(payload, channel=self)
        except _UNREADABLE:
            logger.exception("embedded broker: quarantining unreadable message %s", path)
            os.replace(path, path + ".bad")
            return None
        os.remove(path)
        return payload

    # -- exchange binding tables --------------------------------------------------------
    def get_table(self, exchange: str) -> list[Row]:
        path = self._exchange_file(exchange)
        try:
            with open(path, "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH)  # released by close
                return _rows(handle.read(), path)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"cannot read exchange table {path}: {exc}") from exc

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        row = Row(routing_key or "", pattern or "", queue or "")
        self._update_table(
            exchange, lambda rows: rows if row in rows else [row, *rows], create=True
        )

    def _delete(
        self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any
    ) -> None:
        virtual.Channel._delete(self, queue)  # purges the queue's messages
        row = Row(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda rows: [r for r in rows if r != row], create=False)

    def _update_table(
        self, exchange: str, change: Callable[[list[Row]], list[Row]], *, create: bool
    ) -> None:
        """Read-modify-write one exchange table under an exclusive lock.

        The stock transport opens a new table with ``"wb"``, truncating it before taking
        the lock, so a process binding at the same moment reads an empty file (and
        crashes) or has its binding overwritten.
        """
        path = self._exchange_file(exchange)
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        try:
            fd = os.open(path, flags, 0o644)
        except FileNotFoundError:
            return  # nothing to update
        except OSError as exc:
            raise ChannelError(f"cannot open exchange table {path}: {exc}") from exc
        with os.fdopen(fd, "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released by close
            rows = _rows(handle.read(), path)
            updated = change(rows)
            if updated != rows or not rows:
                handle.seek(0)
                handle.write(dumps([list(r) for r in updated]).encode())
                handle.truncate()
                handle.flush()


def _rows(raw: bytes, path: Path) -> list[Row]:
    if not raw.strip():
        return []  # just created by another process that has not written it yet
    try:
        return [Row(*row) for row in loads(raw)]
    except (ValueError, TypeError) as exc:
        # Only a crash in the middle of a rewrite leaves this; the next bind rewrites it.
        logger.error("embedded broker: ignoring unreadable exchange table %s: %s", path, exc)
        return []


_states: dict[str, virtual.BrokerState] = {}
_states_lock = threading.Lock()


class Transport(filesystem.Transport):
    """Registered as ``rawrfs://`` (see ``rawr_site/celery.py``)."""

    Channel = Channel
    driver_type = "rawrfs"
    driver_name = "rawrfs"

    @property
    def default_connection_params(self) -> dict[str, Any]:
        # A folder has no host: without this kombu warns "No hostname was supplied" on
        # every connection.
        return {"port": self.default_port}

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        # Kombu keeps one binding cache per process and skips a bind it has seen; keyed by
        # broker folder, a second folder in the same process still gets its bindings.
        folder = os.path.abspath(client.transport_options.get("control_folder", "control"))
        with _states_lock:
            self.state = _states.setdefault(folder, virtual.BrokerState())
