"""Uploads through the page: which files may be ingested, and error lines people can read."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.feeds import UrlResult

UPLOAD_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl")


def check_upload(path: Path, max_mb: float, roots: Sequence[Path] = ()) -> str | None:
    """Why an uploaded file cannot be ingested (one line), or None when it can.

    Args:
        path: The uploaded file.
        max_mb: The upload limit (ASSISTANT_MAX_UPLOAD_MB).
        roots: The folders uploads live in (Gradio's upload folder). When given, a path that
            resolves outside them is refused, so neither a crafted path ("../../etc/x.txt")
            nor a symbolic link can make the server read other files. Symbolic links are
            always refused: an upload is never one.
    """
    if path.suffix.lower() not in UPLOAD_SUFFIXES:
        kinds = ", ".join(UPLOAD_SUFFIXES)
        return f"{path.name}: {path.suffix or 'no extension'} files are not supported ({kinds})"
    if path.is_symlink() or (roots and not _inside(path, roots)):
        return f"{path.name}: not a file uploaded through this page"
    try:
        size = path.stat().st_size
    except OSError:
        return f"{path.name}: the upload could not be read"
    if size > max_mb * 1_000_000:
        return (
            f"{path.name}: {size / 1_000_000:.1f} MB is over the {max_mb:g} MB limit "
            "(ASSISTANT_MAX_UPLOAD_MB)"
        )
    if size == 0:
        return f"{path.name}: the file is empty"
    return None


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return any(resolved.is_relative_to(root.resolve()) for root in roots)


def _clean_error(message: str, upload_dirs: Sequence[Path]) -> str:
    # uploaded files live in Gradio's temporary folders; people know them by their file name
    for folder in upload_dirs:
        message = message.replace(f"{folder}/", "").replace(str(folder), "")
    return message


def url_report_lines(url: str, result: UrlResult) -> list[str]:
    """The report's lines (HTML <li>) for a URL added through the page: an article ingested,
    or a feed followed with the entries it added, and one line per error."""
    esc = html.escape
    if result.kind == "feed" and result.feed is not None:
        feed = result.feed
        lines = [f'<li class="upload-error">✗ {esc(err)}</li>' for err in feed.errors]
        lines.append(
            f'<li class="upload-ok">✓ following {esc(feed.title or url)}: '
            f"{len(feed.added)} added, {len(feed.updated)} updated, {feed.unchanged} unchanged "
            f"({feed.seconds:.1f} s; assistant feeds refresh, or serve --refresh, reads it "
            "again)</li>"
        )
        return lines
    report = result.report
    if report is None:
        return []
    lines = [f'<li class="upload-error">✗ {esc(err)}</li>' for err in report.errors]
    counts = ((report.added, "added"), (report.updated, "updated"), (report.unchanged, "unchanged"))
    what = ", ".join(f"{len(ids)} {word}" for ids, word in counts if ids)
    if what:
        lines.append(f'<li class="upload-ok">✓ {esc(url)}: {what} ({report.seconds:.1f} s)</li>')
    return lines
