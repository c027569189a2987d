"""The data dir's write lock: a second writer waits, says so, and gives up with one line."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import StoreError
from assistant.writelock import WriteLock

HOLDER = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1] + "/write.lock", thread_local=False)
lock.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(data_dir: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data_dir), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_waits_for_the_first_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = _hold(tmp_path, 2.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="assistant.writelock"), WriteLock(tmp_path, 30):
        waited = time.monotonic() - started
    holder.wait()
    assert waited > 1.0  # it did wait for the other process
    assert [r.getMessage() for r in caplog.records] == [
        f"waiting for another ingest in {tmp_path} (up to 30 s, ASSISTANT_WRITE_LOCK_TIMEOUT)..."
    ]


def test_a_writer_gives_up_after_the_timeout_with_one_line(tmp_path: Path) -> None:
    holder = _hold(tmp_path, 30)
    try:
        with pytest.raises(StoreError) as err, WriteLock(tmp_path, 1.5):
            pass
    finally:
        holder.kill()
        holder.wait()
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path) in message and "ASSISTANT_WRITE_LOCK_TIMEOUT" in message


def test_a_killed_holder_frees_the_lock(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    holder = _hold(tmp_path, 60)
    holder.kill()
    holder.wait()
    with caplog.at_level(logging.WARNING, logger="assistant.writelock"), WriteLock(tmp_path, 5):
        pass
    assert not caplog.records  # taken at once: no wait


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    lock = WriteLock(tmp_path, 1)
    with lock, lock:  # a write inside a write of the same store does not deadlock
        pass
