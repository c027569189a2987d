"""The allocator tuning the store applies: it takes effect on glibc and is harmless elsewhere."""

from __future__ import annotations

import platform
import sys

import pytest

from assistant import memory


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="mallopt and malloc_trim are glibc's",
)
def test_the_arena_cap_takes_effect_on_glibc() -> None:
    assert memory.limit_arenas() is True
    memory.trim()  # returns freed memory; must not raise


def test_without_glibc_both_are_no_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_libc", lambda: None)
    memory.limit_arenas.cache_clear()
    try:
        assert memory.limit_arenas() is False
        memory.trim()
    finally:
        memory.limit_arenas.cache_clear()
