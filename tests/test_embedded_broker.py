"""The embedded broker (``rawrfs://``) under the races that break kombu's stock transport.

Each test runs a real kombu ``Connection`` on folders of its own, with the fast polling
interval that made the stock filesystem transport read half-written files.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

import rawr_site.celery  # noqa: F401  (registers the "rawrfs" transport alias)

N_MESSAGES = 200
DEADLINE_SECONDS = 8.0

exchange = Exchange("work", type="direct")
queue = Queue("work", exchange=exchange, routing_key="work")


@pytest.fixture
def broker_dirs(tmp_path: Path) -> dict[str, object]:
    return {
        "data_folder_in": str(tmp_path / "queue"),
        "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processing"),
        "control_folder": str(tmp_path / "control"),
        "polling_interval": 0.01,
    }


def _connect(options: dict[str, object]) -> Connection:
    return Connection("rawrfs://", transport_options=options)


def _publish(options: dict[str, object], numbers: range) -> None:
    with _connect(options) as conn:
        producer = Producer(conn.default_channel, exchange=exchange, routing_key="work")
        for n in numbers:
            producer.publish({"n": n}, serializer="json")


def _drain(options: dict[str, object], received: list[int], done: Callable[[], bool]) -> None:
    """Consume ``queue`` until ``done()`` or the deadline; ack every message."""

    def on_message(body: dict[str, int], message) -> None:
        received.append(body["n"])
        message.ack()

    deadline = time.monotonic() + DEADLINE_SECONDS
    with (
        _connect(options) as conn,
        Consumer(conn, queues=[queue], callbacks=[on_message], accept=["json"]),
    ):
        while not done() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                conn.drain_events(timeout=0.05)


def _declare(options: dict[str, object]) -> None:
    with _connect(options) as conn:
        queue(conn.default_channel).declare()


def _files(folder: object, suffix: str) -> list[str]:
    return sorted(name for name in os.listdir(str(folder)) if name.endswith(suffix))


def test_every_message_published_during_fast_polling_is_received_exactly_once(broker_dirs):
    _declare(broker_dirs)
    received: list[int] = []
    producer = threading.Thread(target=_publish, args=(broker_dirs, range(N_MESSAGES)))
    producer.start()
    _drain(broker_dirs, received, done=lambda: len(received) >= N_MESSAGES)
    producer.join()

    assert len(received) == N_MESSAGES
    assert sorted(received) == list(range(N_MESSAGES))
    assert _files(broker_dirs["data_folder_in"], ".msg") == []
    assert os.listdir(broker_dirs["processed_folder"]) == []


@pytest.mark.parametrize(
    "garbage",
    [b"", b'{"body": "eyJuIjog', b"\xff\xfe not utf-8", b"[1, 2, 3]", b'{"properties": {}}'],
    ids=["empty", "truncated", "not-utf8", "not-an-object", "no-delivery-tag"],
)
def test_an_unreadable_message_is_quarantined_and_consumption_goes_on(broker_dirs, garbage):
    _declare(broker_dirs)
    queue_dir = Path(broker_dirs["data_folder_in"])
    # Sorts before anything published now, so the consumer meets it first.
    bad_name = f"{0:015d}_corrupt.work.msg"
    (queue_dir / bad_name).write_bytes(garbage)
    _publish(broker_dirs, range(3))

    received: list[int] = []
    _drain(broker_dirs, received, done=lambda: len(received) >= 3)

    assert sorted(received) == [0, 1, 2]
    assert _files(queue_dir, ".msg") == []
    processing = Path(broker_dirs["processed_folder"])
    assert _files(processing, ".bad") == [f"{bad_name}.bad"]
    assert (processing / f"{bad_name}.bad").read_bytes() == garbage


def test_two_competing_consumers_never_receive_the_same_message(broker_dirs):
    _declare(broker_dirs)
    first: list[int] = []
    second: list[int] = []

    def done() -> bool:
        return len(first) + len(second) >= N_MESSAGES

    consumers = [
        threading.Thread(target=_drain, args=(broker_dirs, received, done))
        for received in (first, second)
    ]
    for consumer in consumers:
        consumer.start()
    _publish(broker_dirs, range(N_MESSAGES))
    for consumer in consumers:
        consumer.join()

    assert set(first).isdisjoint(second)
    assert len(first) + len(second) == N_MESSAGES
    assert sorted(first + second) == list(range(N_MESSAGES))
    # Both really competed: a consumer that got nothing proves nothing about claiming.
    assert first
    assert second


def test_a_message_for_another_queue_whose_name_ends_alike_is_left_alone(broker_dirs):
    """Queue names may contain dots (Celery's ``<id>.reply.celery.pidbox``)."""
    long_name = Queue("x.work", exchange=exchange, routing_key="x.work")
    with _connect(broker_dirs) as conn:
        long_name(conn.default_channel).declare()
        queue(conn.default_channel).declare()
        Producer(conn.default_channel).publish(
            {"n": 1}, exchange=exchange, routing_key="x.work", serializer="json"
        )

    received: list[int] = []
    deadline = time.monotonic() + 0.3
    _drain(broker_dirs, received, done=lambda: time.monotonic() > deadline)

    assert received == []
    assert len(_files(broker_dirs["data_folder_in"], ".x.work.msg")) == 1


def test_queues_bound_at_the_same_time_all_receive_their_messages(broker_dirs):
    """Workers starting together bind to one exchange file; no binding may be lost."""
    names = [f"q{i}" for i in range(8)]
    barrier = threading.Barrier(len(names))

    def bind(name: str) -> None:
        with _connect(broker_dirs) as conn:
            barrier.wait()
            Queue(name, exchange=exchange, routing_key=name)(conn.default_channel).declare()

    threads = [threading.Thread(target=bind, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    table = json.loads((Path(broker_dirs["control_folder"]) / "work.exchange").read_text())
    assert sorted(row[2] for row in table) == names
