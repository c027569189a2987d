"""Finding the files to ingest: walk directories, skip hidden and unsupported files, end loops."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from assistant.errors import InputError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl")


def _unsupported(path: Path) -> InputError:
    suffix = path.suffix or "(none)"
    return InputError(
        f"{path}: unsupported file type '{suffix}' (supported: {', '.join(SUPPORTED_SUFFIXES)})"
    )


def _missing(path: Path) -> InputError:
    if path.is_symlink():
        return InputError(f"{path}: broken or looping symbolic link")
    return InputError(f"{path}: no such file or directory")


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _walk_dir(root: Path, seen_dirs: set[Path]) -> Iterator[Path | InputError]:
    """Yield supported files under `root` depth-first in name order, never entering a directory
    twice (symlink loops) and never recursing in Python (very deep trees)."""
    stack: list[Iterator[Path]] = []

    def enter(directory: Path) -> InputError | None:
        try:
            resolved = directory.resolve()
        except (OSError, RuntimeError):
            return None  # an unresolvable link loop: nothing to read there
        if resolved in seen_dirs:
            return None
        seen_dirs.add(resolved)
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            return InputError(f"{directory}: cannot list directory ({exc.strerror or exc})")
        stack.append(iter([directory / entry.name for entry in entries]))
        return None

    error = enter(root)
    if error:
        yield error
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if child.name.startswith("."):
            continue
        try:
            is_dir, is_file = child.is_dir(), child.is_file()
        except OSError:
            continue  # e.g. a symlink loop deep inside: skip it like other unreadable entries
        if is_dir:
            error = enter(child)
            if error:
                yield error
        elif is_file and _is_supported(child):
            yield child


def iter_entries(paths: Iterable[str | Path]) -> Iterator[Path | InputError]:
    """`iter_files`, but each problem is yielded as an `InputError` and the walk goes on.

    Args:
        paths: Files and directories.

    Yields:
        Paths of supported files and, in between, one `InputError` per bad path.
    """
    seen_dirs: set[Path] = set()
    seen_files: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        try:
            exists, is_dir = path.exists(), path.is_dir()
        except OSError:
            exists = is_dir = False
        if not exists:
            yield _missing(path)
            continue
        found: Iterable[Path | InputError]
        if is_dir:
            found = _walk_dir(path, seen_dirs)
        elif not _is_supported(path):
            yield _unsupported(path)
            continue
        elif not path.is_file():
            yield InputError(f"{path}: not a regular file")
            continue
        else:
            found = [path]
        for item in found:
            if isinstance(item, InputError):
                yield item
                continue
            resolved = item.resolve()
            if resolved not in seen_files:
                seen_files.add(resolved)
                yield item


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand files and directories into the files to ingest.

    Directories are walked recursively in sorted order; hidden files and folders and files of
    unsupported types inside them are skipped, each directory is entered once (so symlink loops
    end) and a file reached twice is yielded once.

    Args:
        paths: Files and directories.

    Yields:
        Paths of supported files.

    Raises:
        InputError: A path does not exist, a directory cannot be listed, or a file named
            explicitly has an unsupported type.
    """
    for item in iter_entries(paths):
        if isinstance(item, InputError):
            raise item
        yield item
