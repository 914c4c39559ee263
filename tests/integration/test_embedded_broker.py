"""The embedded broker (``okrlyfs://``) never hands a consumer a half-written message.

kombu's own file-system transport creates the message file under its final name and then
writes it; ``okrly.broker`` writes a temporary file and renames it into place. The first
tests pause a producer in the middle of a write to show the difference deterministically;
the last one runs producer processes flat out against a draining consumer.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError
from kombu.transport import filesystem

from okrly import broker

pytestmark = pytest.mark.integration

QUEUE = "notifications"
# How kombu's consumer recognises a message of QUEUE: "<ms>_<uuid>.<queue>.msg".
MESSAGE_NAME = re.compile(rf"\A\d+_[0-9a-f-]{{36}}\.{re.escape(QUEUE)}\.msg\Z")
# Messages of a realistic worst size: a long notification body.
PADDING = "x" * 256 * 1024


@pytest.fixture
def options(tmp_path: Path) -> dict[str, str]:
    """One folder that producers write to and consumers read from, as in ``settings``."""
    # kombu's own transport does not create its folders (okrly.broker does).
    (tmp_path / "queue").mkdir()
    (tmp_path / "control").mkdir()
    return {
        "data_folder_in": str(tmp_path / "queue"),
        "data_folder_out": str(tmp_path / "queue"),
        "control_folder": str(tmp_path / "control"),
    }


def publish(url: str, options: dict[str, str], body: dict[str, Any]) -> None:
    with Connection(url, transport_options=options) as conn:
        # The default exchange routes straight to the queue named by the routing key.
        conn.Producer(serializer="json").publish(body, routing_key=QUEUE)


def queue_files(options: dict[str, str]) -> list[str]:
    return sorted(os.listdir(options["data_folder_in"]))


class WritePause:
    """Holds a producer between creating its message file and writing the message."""

    def __init__(self) -> None:
        self.file_created = threading.Event()
        self.go_on = threading.Event()

    def wrap(self, real: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
        def str_to_bytes(text: Any) -> bytes:
            self.file_created.set()
            if not self.go_on.wait(timeout=10):
                raise TimeoutError("the test never let the producer go on")
            return real(text)

        return str_to_bytes


@contextmanager
def producer_paused_mid_write(
    url: str, options: dict[str, str], module: ModuleType, body: dict[str, Any]
) -> Iterator[None]:
    """Publish ``body`` in a thread and hold it while the message file exists but is empty.

    Both transports call ``str_to_bytes`` (from their own module) right before writing the
    message, after the file it goes into has been created.
    """
    pause = WritePause()
    with (
        mock.patch.object(module, "str_to_bytes", pause.wrap(module.str_to_bytes)),
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        published = pool.submit(publish, url, options, body)
        try:
            assert pause.file_created.wait(timeout=10), "the producer never started writing"
            yield
        finally:
            pause.go_on.set()
            published.result(timeout=10)


def test_kombu_filesystem_transport_exposes_a_message_while_it_is_written(
    options: dict[str, str],
) -> None:
    body = {"n": 1, "pad": PADDING}
    with (
        Connection("filesystem://", transport_options=options) as consumer,
        producer_paused_mid_write("filesystem://", options, filesystem, body),
    ):
        # The file already has its final name, so the consumer takes it, empty.
        assert [MESSAGE_NAME.match(name) is not None for name in queue_files(options)] == [True]
        with pytest.raises(ValueError, match="Expecting value"):
            consumer.default_channel.basic_get(QUEUE, no_ack=True)

    # The producer then wrote into a file the consumer had already taken: the message is lost.
    with Connection("filesystem://", transport_options=options) as consumer:
        assert consumer.default_channel.basic_get(QUEUE, no_ack=True) is None


def test_embedded_broker_shows_a_message_only_once_it_is_complete(
    options: dict[str, str],
) -> None:
    body = {"n": 1, "pad": PADDING}
    with Connection("okrlyfs://", transport_options=options) as consumer:
        with producer_paused_mid_write("okrlyfs://", options, broker, body):
            # Only the temporary file exists, under a name the consumer does not match.
            names = queue_files(options)
            assert len(names) == 1
            assert names[0].startswith(".tmp-")
            assert not MESSAGE_NAME.match(names[0])
            assert consumer.default_channel.basic_get(QUEUE, no_ack=True) is None

        message = consumer.default_channel.basic_get(QUEUE, no_ack=True)

    assert message is not None
    assert message.decode() == body
    assert queue_files(options) == []


def test_message_is_complete_before_it_gets_its_final_name(options: dict[str, str]) -> None:
    real_replace = os.replace
    renamed: list[str] = []

    def replace(src: str, dst: str) -> None:
        # At the moment of the rename the final name does not exist yet and the temporary
        # file, which the consumer ignores, already holds the whole message.
        assert not os.path.exists(dst)
        assert not MESSAGE_NAME.match(os.path.basename(src))
        assert MESSAGE_NAME.match(os.path.basename(dst))
        with open(src, "rb") as f:
            payload = json.load(f)
        assert payload["properties"]["body_encoding"] == "base64"
        assert json.loads(base64.b64decode(payload["body"]))["pad"] == PADDING
        renamed.append(os.path.basename(dst))
        real_replace(src, dst)

    with mock.patch("okrly.broker.os.replace", side_effect=replace):
        for n in range(3):
            publish("okrlyfs://", options, {"n": n, "pad": PADDING})

    assert sorted(renamed) == queue_files(options)
    assert len(renamed) == 3


def test_failed_write_leaves_no_file_behind(options: dict[str, str]) -> None:
    with (
        mock.patch("okrly.broker.os.fsync", side_effect=OSError(28, "No space left on device")),
        pytest.raises(ChannelError, match="Cannot add file"),
    ):
        publish("okrlyfs://", options, {"n": 1})

    assert queue_files(options) == []


def produce(options: dict[str, str], producer: int, count: int) -> None:
    """Run in a separate process: publish ``count`` numbered messages."""
    broker.register()
    with Connection("okrlyfs://", transport_options=options) as conn:
        send = conn.Producer(serializer="json").publish
        for n in range(count):
            send(
                {"producer": producer, "n": n, "pad": PADDING[: 1024 * (n % 64 + 1)]},
                routing_key=QUEUE,
            )


def test_concurrent_producers_and_a_draining_consumer_lose_and_corrupt_nothing(
    options: dict[str, str],
) -> None:
    producers, count = 4, 300
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=produce, args=(options, p, count)) for p in range(producers)
    ]
    received: list[tuple[int, int]] = []
    with Connection("okrlyfs://", transport_options=options) as consumer:
        channel = consumer.default_channel
        for process in processes:
            process.start()
        try:
            # Drain as fast as possible while the producers write, to hit any window in which
            # a message file is visible but incomplete.
            deadline = time.monotonic() + 120
            while len(received) < producers * count and time.monotonic() < deadline:
                message = channel.basic_get(QUEUE, no_ack=True)
                if message is None:
                    continue
                body = message.decode()
                assert body["pad"] == PADDING[: 1024 * (body["n"] % 64 + 1)]
                received.append((body["producer"], body["n"]))
        finally:
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()

    assert [process.exitcode for process in processes] == [0] * producers
    assert len(received) == producers * count
    assert set(received) == {(p, n) for p in range(producers) for n in range(count)}
    # Nothing left over: no message and no temporary file.
    assert queue_files(options) == []
