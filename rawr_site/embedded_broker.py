"""A filesystem Celery transport that is safe at fast polling.

Why not kombu's stock ``filesystem://``: its producer writes the message straight into the
queue folder under its final name, so a consumer polling every 100 ms can pick up a
half-written file, fail to decode it and take the worker down. Why not the SQLAlchemy
transport on SQLite: it ignores ``polling_interval`` and keeps every consumed row.

This transport keeps kombu's design (one file per message, ordered by name) and fixes
the two races:

* publish writes to a hidden temporary name, ``fsync``s and then ``os.replace``s it into
  place, so a consumer only ever sees complete messages;
* consume claims a message by ``os.rename`` into a processing folder on the same
  filesystem (atomic, so two workers never both get it) and quarantines an unreadable
  file instead of raising.

It is meant for the embedded default (one machine, a web process and a few workers).
Anything bigger should set ``CELERY_BROKER_URL`` to Redis or RabbitMQ.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    """Filesystem channel with atomic publish and atomic claim."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for folder in (self.data_folder_in, self.data_folder_out, self.processed_folder):
            Path(folder).mkdir(parents=True, exist_ok=True)
        self.control_folder.mkdir(parents=True, exist_ok=True)

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Hidden and without the ".msg" suffix: _get never matches it.
        temp = os.path.join(self.data_folder_out, f".{uuid.uuid4()}.partial")
        with open(temp, "wb") as handle:
            handle.write(dumps(payload).encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)

    def _get(self, queue: str) -> Any:
        suffix = f".{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if not name.endswith(suffix) or name.startswith("."):
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            try:
                with open(claimed, "rb") as handle:
                    payload = loads(handle.read())
            except (OSError, ValueError, json.JSONDecodeError):
                logger.exception("embedded broker: quarantining unreadable message %s", name)
                os.replace(claimed, claimed + ".bad")
                continue
            os.remove(claimed)
            return payload
        raise Empty()


class Transport(filesystem.Transport):
    """Registered as ``rawrfs://`` (see ``rawr_site/celery.py``)."""

    Channel = Channel
    driver_type = "rawrfs"
    driver_name = "rawrfs"
