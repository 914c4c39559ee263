"""The embedded Celery broker: kombu's file-system transport, with atomic writes.

kombu's own transport opens the message file under its final name and then writes to it, so
a worker listing the folder at that moment can pick up a half-written message and crash on
it (kombu issue 1551). Here each message is written to a temporary name the consumer ignores,
flushed, and renamed into place: ``os.replace`` is atomic on one file system, so a consumer
sees either no file or the whole message.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

SCHEME = "okrlyfs"


class AtomicChannel(filesystem.Channel):
    # kombu types this method differently in its base and file-system channels; this matches
    # the file-system one, which is the one overridden.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # Same final name as kombu (time-ordered, unique); consumers match "<ts>_<uuid>.<queue>.msg"
        # by what follows the first dot, which a ".tmp-..." name never matches.
        filename = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        folder = self.data_folder_out
        final = os.path.join(folder, filename)
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
            try:
                # mkstemp makes the file owner-only; a worker running as another user must
                # still read it, as with kombu's own transport.
                os.fchmod(fd, 0o644)
                with os.fdopen(fd, "wb") as f:
                    f.write(str_to_bytes(dumps(payload)))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, final)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicChannel
    driver_type = "filesystem"
    driver_name = "okrly-filesystem"

    def __init__(self, client: Any, **kwargs: Any) -> None:
        # Create the folders on first use so a fresh checkout needs no set-up step.
        options = client.transport_options or {}
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            if options.get(key):
                os.makedirs(options[key], exist_ok=True)
        super().__init__(client, **kwargs)


def register() -> None:
    """Make ``okrlyfs://`` a kombu transport alias (idempotent)."""
    TRANSPORT_ALIASES[SCHEME] = "okrly.broker:AtomicFilesystemTransport"
