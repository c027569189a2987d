"""Article metadata shared by the formats: dates, slugs, titles, sources, and `Article` assembly."""

from __future__ import annotations

import email.utils
import re
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import InputError
from assistant.loaders.encoding import normalise_text
from assistant.types import Article

_TITLE_MAX_CHARS = 80


_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_RE = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY_RE = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
# An optional time after the date ("10:00", "9:30 a.m. et", "t10:00:00.5+02:00"), and nothing
# else, so that a body line that merely starts with a date is not mistaken for a dateline.
_TIME_RE = (
    r"(?:[\st,]+(?:at\s+)?\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?\s*(?:[ap]\.?m\.?)?"
    r"|[\s,]+(?:at\s+)?\d{1,2}\s*[ap]\.?m\.?)?"
    r"\s*(?:z|utc|gmt|[ecmp][sd]?t|[+-]\d{2}:?\d{2})?"
)
_DATE_PATTERNS = (
    # 2022-09-14, 2022/09/14, 2022.09.14
    re.compile(r"(?P<year>\d{4})([-/.])(?P<mon>\d{1,2})\2(?P<day>\d{1,2})" + _TIME_RE),
    # 20220914
    re.compile(r"(?P<year>\d{4})(?P<mon>\d{2})(?P<day>\d{2})"),
    # Sept. 14, 2022 / October 24 2025 / Fri, Oct 24, 2025 10:00 ET
    re.compile(
        _WEEKDAY_RE
        + _MONTH_RE
        + r"\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
        + _TIME_RE
    ),
    # 14 September 2022 / 14 Sept. 2022
    re.compile(
        _WEEKDAY_RE
        + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+"
        + _MONTH_RE
        + r",?\s+(?P<year>\d{4})"
        + _TIME_RE
    ),
)


def parse_date(value: str | None) -> date | None:
    """Parse the publication dates news data comes with.

    Accepts ``2022/09/14``, ``2022-09-14``, ISO datetimes (``2022-09-14T10:00:00Z``),
    ``Sept. 14, 2022``, ``October 24, 2025``, ``14 Oct 2025`` and RFC 2822 dates.

    Args:
        value: The text to parse, or None.

    Returns:
        The date, or None when the value is missing or not a recognisable date.
    """
    if not value:
        return None
    text = value.strip().lower()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        parts = match.groupdict()
        month = int(parts["mon"]) if parts.get("mon") else _MONTHS[parts["month"][:3]]
        try:
            return date(int(parts["year"]), month, int(parts["day"]))
        except ValueError:
            return None
    try:
        return email.utils.parsedate_to_datetime(value.strip()).date()
    except (TypeError, ValueError, IndexError):
        return None


_SLUG_MAX_CHARS = 80


def slugify(text: str) -> str:
    """Turn a title into a lowercase ASCII id such as ``trump-aims-to-sign-mineral-deals``.

    Accents are folded (``café`` -> ``cafe``); anything else that is not a letter or digit
    becomes a hyphen. Long slugs are cut at a hyphen to at most 80 characters.

    Args:
        text: Any text.

    Returns:
        The slug; empty when the text has no ASCII letters or digits.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if len(slug) > _SLUG_MAX_CHARS:
        cut = slug.rfind("-", 0, _SLUG_MAX_CHARS + 1)
        slug = slug[: cut if cut > 0 else _SLUG_MAX_CHARS].strip("-")
    return slug


def _to_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_date(value)
    return None


def _to_str(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = " ".join(str(value).split())
    return text or None


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


# A full stop after a lone capital is an initial ("W. Kamau Bell"), not a sentence end.
_FIRST_SENTENCE_RE = re.compile(r"(.+?(?<!\b[A-Z])[.!?])[\"'”’)]*(?=\s+[\"'“‘(]?[A-Z0-9])")


_SLUG_ID = re.compile(r"^(?:[a-z]?_?[0-9a-f]{12,}|\d+)$")


def url_words(url: Any) -> list[str]:
    """The words of a news URL's slug ("/2022/06/15/business/ford-recall/" -> ford, recall).

    Only hyphenated path segments are slugs; section names, dates, ids and file names are not.
    """
    if not url:
        return []
    words: list[str] = []
    for segment in urlsplit(str(url)).path.split("/"):
        segment = re.sub(r"\.s?html?$", "", segment.lower())
        if "-" not in segment:
            continue
        words += [w for w in re.split(r"[-_]+", segment) if w and not _SLUG_ID.match(w)]
    return words


def _title_from_url(url: str | None) -> str | None:
    """A title for an article that has none, from its URL's slug ("Ford recall"): the short
    headline a news site's editors put in the address; None without a slug of two words."""
    words = url_words(url)
    if len(words) < 2:
        return None
    return _shorten(" ".join(words).capitalize(), _TITLE_MAX_CHARS)


def fallback_title(title: str | None, url: str | None, body: str) -> str:
    """The article's title: the one it states, else its URL's slug, else its first sentence."""
    return _to_str(title) or _title_from_url(_to_str(url)) or _title_from_text(body)


def _title_from_text(text: str) -> str:
    """A title for an article that has none: its first real sentence, at most 80 characters.

    Dateline-only lines such as ``Washington CNN —`` are skipped.
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    chosen = next(
        (line for line in lines if len(line.split()) >= 4 and line[-1] not in "—–-:"),
        lines[0] if lines else "",
    )
    match = _FIRST_SENTENCE_RE.match(chosen)
    sentence = match.group(1) if match else chosen
    return _shorten(sentence, _TITLE_MAX_CHARS)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip(" ,;:") + "…"


def _make_article(
    path: Path | str,
    *,
    article_id: str,
    title: str | None,
    text: str,
    source: str | None = None,
    url: str | None = None,
    published: date | None = None,
    author: str | None = None,
) -> Article:
    """The `Article`; `path` is the file it came from, or a URL (which is not kept as a path)."""
    body = normalise_text(text)
    if not body:
        raise InputError(f"{path}: no article text")
    clean_title = fallback_title(title, url, body)
    return Article(
        id=article_id,
        title=clean_title,
        text=body,
        source=_to_str(source) or _domain(url),
        url=_to_str(url),
        published=published,
        author=_to_str(author),
        path=str(path) if isinstance(path, Path) else None,
    )
