"""Files -> `Article`s: text, Markdown, HTML, PDF and JSONL, with metadata; bad input is rejected.

Every rejection is an `InputError` whose message is one line starting with the file's path (and
line number for JSONL), so a directory ingest can report it and carry on with the other files.

One module per format (`txt`, `markdown`, `html`, `pdf`, `jsonl`), behind `load_file` here;
`files` finds the files, `encoding` reads, decodes and normalises text (its docstring has the
encoding policy) and `metadata` holds what the formats share (dates, titles, `Article` assembly).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from assistant.errors import InputError
from assistant.loaders.encoding import _read_bytes, _read_text, normalise_text
from assistant.loaders.files import SUPPORTED_SUFFIXES, _unsupported, iter_entries, iter_files
from assistant.loaders.html import _parse_html
from assistant.loaders.jsonl import _load_jsonl
from assistant.loaders.markdown import _parse_md
from assistant.loaders.metadata import parse_date, slugify
from assistant.loaders.pdf import _parse_pdf
from assistant.loaders.txt import _parse_txt, _source_from_copyright
from assistant.types import Article

__all__ = [
    "SUPPORTED_SUFFIXES",
    "_source_from_copyright",
    "iter_entries",
    "iter_files",
    "load_file",
    "load_paths",
    "normalise_text",
    "parse_date",
    "slugify",
]

_DEFAULT_MAX_BYTES = 20_000_000


def load_file(path: Path, *, max_bytes: int = _DEFAULT_MAX_BYTES) -> Iterator[Article | InputError]:
    """Read one file into articles.

    Args:
        path: A file with a supported suffix.
        max_bytes: Largest file accepted (JSONL files stream, so for them it limits one line).

    Yields:
        Articles; for JSONL also one `InputError` per bad line (the other lines still load).

    Raises:
        InputError: The whole file is unusable: empty, binary, not UTF-8 (see the module
            docstring), too large, a PDF without a text layer, corrupt, or of unknown type.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _unsupported(path)
    if suffix == ".jsonl":
        yield from _load_jsonl(path, max_bytes)
        return
    if suffix == ".pdf":
        yield _parse_pdf(path, _read_bytes(path, max_bytes))
    elif suffix in (".html", ".htm"):
        yield _parse_html(path, _read_bytes(path, max_bytes))
    elif suffix in (".md", ".markdown"):
        yield _parse_md(path, _read_text(path, max_bytes))
    else:
        yield _parse_txt(path, _read_text(path, max_bytes))


def load_paths(
    paths: Iterable[str | Path], *, max_bytes: int = _DEFAULT_MAX_BYTES
) -> Iterator[Article | InputError]:
    """Load every supported file under `paths`, reporting problems instead of stopping.

    Args:
        paths: Files and directories (see `iter_files`).
        max_bytes: Largest file accepted (see `load_file`).

    Yields:
        Articles and, in between, one `InputError` per rejected file, JSONL line or path.
        An article whose id was already loaded from another file in this call is rejected
        too, since storing it would silently replace the first one.
    """
    first_path: dict[str, str] = {}
    for item in iter_entries(paths):
        if isinstance(item, InputError):
            yield item
            continue
        try:
            for loaded in load_file(item, max_bytes=max_bytes):
                if isinstance(loaded, Article):
                    earlier = first_path.setdefault(loaded.id, str(item))
                    if earlier != str(item):
                        yield InputError(
                            f"{item}: article id '{loaded.id}' is already used by {earlier}"
                        )
                        continue
                yield loaded
        except InputError as exc:
            yield exc
