"""PDF files with a text layer (pypdf)."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.errors import InputError
from assistant.loaders.encoding import normalise_text
from assistant.loaders.metadata import _TITLE_MAX_CHARS, _make_article, _shorten, _to_str
from assistant.types import Article

_JUNK_PDF_TITLES = re.compile(r"(?i)^(untitled.*|microsoft word - .*|.*\.(docx?|pdf|indd|tex))$")


def _parse_pdf(path: Path, data: bytes) -> Article:
    import io

    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:
        raise InputError(f"{path}: not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path}: PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        meta_title = _to_str(metadata.title) if metadata else None
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types on corrupt files; all mean "unreadable"
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: corrupt or truncated PDF ({detail})") from exc
    text = "\n\n".join(normalise_text(page) for page in pages if page.strip())
    if not text:
        raise InputError(f"{path}: PDF has no text layer (scanned?)")
    if meta_title and _JUNK_PDF_TITLES.match(meta_title):
        meta_title = None
    title = meta_title or _shorten(text.split("\n", 1)[0], _TITLE_MAX_CHARS)
    return _make_article(path, article_id=path.stem, title=title, text=text)
