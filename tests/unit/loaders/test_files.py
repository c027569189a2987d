"""Unit tests for finding files (iter_files) and loading many (load_paths)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.loaders import (
    SUPPORTED_SUFFIXES,
    iter_files,
    load_file,
    load_paths,
)
from assistant.types import Article
from tests.unit.loaders.helpers import SEED, jsonl, write


def test_load_file_unknown_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "data.xyz", "text")
    with pytest.raises(InputError) as info:
        list(load_file(path))
    assert str(info.value).startswith(f"{path}: unsupported file type '.xyz' (supported: .txt")


def test_iter_files_walks_sorted_and_skips(tmp_path: Path) -> None:
    for name in ["b.txt", "a.md", "sub/c.html", "sub/deeper/d.jsonl", "x.xyz", ".hidden.txt"]:
        write(tmp_path / name, "T\nbody")
    write(tmp_path / ".git" / "e.txt", "T\nbody")
    write(tmp_path / "UPPER.TXT", "T\nbody")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert found == ["UPPER.TXT", "a.md", "b.txt", "sub/c.html", "sub/deeper/d.jsonl"]


def test_iter_files_explicit_file_and_dedupe(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "T\nbody")
    assert list(iter_files([path, str(path), tmp_path])) == [path]


def test_iter_files_explicit_unsupported(tmp_path: Path) -> None:
    path = write(tmp_path / "data.xyz", "x")
    with pytest.raises(InputError) as info:
        list(iter_files([path]))
    assert str(info.value) == (
        f"{path}: unsupported file type '.xyz' (supported: {', '.join(SUPPORTED_SUFFIXES)})"
    )


def test_iter_files_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(InputError) as info:
        list(iter_files([path]))
    assert str(info.value) == f"{path}: no such file or directory"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_iter_files_symlink_loops_end(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a.txt", "T\nbody")
    (tmp_path / "docs" / "loop").symlink_to(tmp_path / "docs", target_is_directory=True)
    (tmp_path / "docs" / "self.txt").symlink_to(tmp_path / "docs" / "self.txt")
    found = list(iter_files([tmp_path / "docs"]))
    assert found == [tmp_path / "docs" / "a.txt"]
    with pytest.raises(InputError, match="broken or looping symbolic link"):
        list(iter_files([tmp_path / "docs" / "self.txt"]))


def test_load_paths_reports_and_continues(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a_good.txt", "Good title\nGood body.")
    write(tmp_path / "in" / "b_empty.txt", "")
    write(tmp_path / "in" / "c_lines.jsonl", jsonl({"id": "j1", "text": "x"}, "{bad"))
    write(tmp_path / "in" / "d_good.md", "# Heading\n\nText.")
    write(tmp_path / "in" / "a.bad", "not ours")
    items = list(load_paths([tmp_path / "in", tmp_path / "missing", tmp_path / "in" / "a.bad"]))
    assert [item.id for item in items if isinstance(item, Article)] == ["a_good", "j1", "d_good"]
    errors = [str(item) for item in items if isinstance(item, InputError)]
    assert len(errors) == 4
    assert errors[0] == f"{tmp_path / 'in' / 'b_empty.txt'}: file is empty"
    assert errors[1].startswith(f"{tmp_path / 'in' / 'c_lines.jsonl'}:2: invalid JSON")
    assert errors[2] == f"{tmp_path / 'missing'}: no such file or directory"
    assert "unsupported file type '.bad'" in errors[3]


def test_load_paths_rejects_duplicate_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path / "a" / "story.txt", "One\nFirst body.")
    write(tmp_path / "b" / "story.md", "# Two\n\nSecond body.")
    items = list(load_paths([tmp_path]))
    assert isinstance(items[0], Article)
    assert items[0].title == "One"
    assert isinstance(items[1], InputError)
    assert str(items[1]) == (
        f"{tmp_path / 'b' / 'story.md'}: article id 'story' is already used by "
        f"{tmp_path / 'a' / 'story.txt'}"
    )


def test_load_paths_on_seed_dir() -> None:
    items = list(load_paths([SEED.parent]))
    assert [item.id for item in items if isinstance(item, Article)] == [SEED.stem]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_iter_files_rejects_non_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as info:
        list(iter_files([fifo]))
    assert str(info.value) == f"{fifo}: not a regular file"
    assert list(iter_files([tmp_path])) == []
