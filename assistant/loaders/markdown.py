"""Markdown articles: YAML front matter and a level-1 heading as the title."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assistant.errors import InputError
from assistant.loaders.encoding import normalise_text
from assistant.loaders.metadata import _make_article, _to_date, _to_str
from assistant.types import Article

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_H1_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _parse_md(path: Path, raw: str) -> Article:
    import yaml

    text = normalise_text(raw)
    meta: dict[str, Any] = {}
    front = _FRONT_MATTER_RE.match(text)
    if front:
        try:
            loaded = yaml.safe_load(front.group(1) or "")
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 2}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise InputError(f"{path}: invalid YAML front matter{where}: {problem}") from exc
        except (ValueError, RecursionError) as exc:  # "date: 2025-02-30", absurd nesting
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(f"{path}: invalid YAML front matter: {detail}") from exc
        if isinstance(loaded, dict):
            meta = {str(key).lower(): value for key, value in loaded.items()}
        text = text[front.end() :]

    title = _to_str(meta.get("title"))
    if not title and (heading := _H1_RE.search(text)):
        title = heading.group(1).strip()
        # Drop the heading line so the title is not repeated in the body.
        text = text[: heading.start()] + text[heading.end() :]
    published = next(
        (
            when
            for key in ("published", "date", "publish_date", "published_at")
            if (when := _to_date(meta.get(key)))
        ),
        None,
    )
    return _make_article(
        path,
        article_id=path.stem,
        title=title,
        text=text,
        source=_to_str(meta.get("source")),
        url=_to_str(meta.get("url")),
        published=published,
    )
