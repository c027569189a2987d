"""The inter-process lock a write to an embedded store holds (see `assistant/store.py`).

A `filelock` on `<data dir>/write.lock`: the operating system releases it when its process
ends, a `kill -9` included, so a dead writer never blocks the next one. It is re-entrant and
shared by the threads of one process (`thread_local=False`); threads are kept apart by the
store's own lock.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType

from assistant.errors import StoreError

NOTICE_S = 1.0  # a writer waiting longer than this says so, once

log = logging.getLogger(__name__)


class WriteLock:
    """`with WriteLock(data_dir, timeout):` waits for another process's write, then holds."""

    def __init__(self, data_dir: Path, timeout: float) -> None:
        import filelock

        self.data_dir = data_dir
        self.timeout = timeout
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = filelock.FileLock(str(data_dir / "write.lock"), thread_local=False)

    def __enter__(self) -> WriteLock:
        import filelock

        try:
            self._lock.acquire(timeout=min(NOTICE_S, self.timeout))
        except filelock.Timeout:
            log.warning(
                "waiting for another ingest in %s (up to %.0f s, ASSISTANT_WRITE_LOCK_TIMEOUT)...",
                self.data_dir,
                self.timeout,
            )
            try:
                self._lock.acquire(timeout=max(0.0, self.timeout - NOTICE_S))
            except filelock.Timeout:
                raise StoreError(
                    f"another process has been writing to the store in {self.data_dir} for "
                    f"{self.timeout:.0f} s (ASSISTANT_WRITE_LOCK_TIMEOUT); try again when it "
                    "has finished"
                ) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()
