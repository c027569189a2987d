"""Story timelines: the dated events of a story across the stored articles, oldest first.

`story_timeline(assistant, "rare earth export controls")` retrieves the passages about the
story, and `build_timeline` (pure) turns them into events:

1. Every sentence of the passages is a candidate, scored like evidence selection:
   cosine(story, sentence) + LEXICAL_WEIGHT * share of the story's content words it has.
   Candidates below `MIN_SCORE`, or below `RELATIVE_SCORE` of the best one, are not events;
   nor are headlines, bylines and other fragments of fewer than `MIN_WORDS` words.
2. Each event is dated by the first date the sentence gives that is not after its article's
   publication ("on Oct. 9", "Thursday", "yesterday", "2025-10-09"); a sentence that names no
   such date happened when its article was published. A later date ("by Nov. 1") is a
   deadline, not the day of the event. A sentence with no date at all is left out.
3. An article gives its best sentence; a further one only when the sentence's own text dates
   it to another day, up to `PER_ARTICLE` events; at most `max_events` in all.
4. Near-duplicate outlets are merged: retrieval already keeps one article of each group of
   near-duplicate articles (`dedup`), naming the others in `also_in`; two remaining events of
   the same day whose sentences say the same (cosine >= `SAME_EVENT_COSINE`) become one, cited
   from the first published article, the other outlet added to its `also_in`.

Every event's citation has offsets into its article: `article.text[start:end] == quote`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from assistant.chunking import sentence_spans
from assistant.citations import Embed, cite, content_words, word_found
from assistant.types import Citation, Hit, Outlet

if TYPE_CHECKING:
    from assistant.chain import Assistant
    from assistant.retrieve import Filters

LEXICAL_WEIGHT = 0.35
"""Weight of the share of the story's content words found in a sentence."""
MIN_SCORE = 0.45
"""Least score of a sentence that is an event of the story."""
RELATIVE_SCORE = 0.5
"""Least score of an event as a share of the best sentence's score."""
MIN_WORDS = 6
"""Shorter sentences (headlines, bylines, "Read more") are never events."""
PER_ARTICLE = 3
"""Most events taken from one article: its best sentence, then only sentences whose own text
dates them to another day (commentary around an event is not another event)."""
SAME_EVENT_COSINE = 0.85
"""Two sentences of the same day at least this similar tell one event."""
PASSAGES = 30
"""Passages retrieved for a story."""

_MONTHS = {
    name: n
    for n, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_RE = re.compile(
    rf"\b(?P<iso>(?P<iy>\d{{4}})-(?P<im>\d{{2}})-(?P<id>\d{{2}}))\b"
    rf"|\b(?P<md>(?P<m1>{_MONTH})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y1>\d{{4}}))?)"
    rf"|\b(?P<dm>(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{_MONTH})\b\.?(?:,?\s+(?P<y2>\d{{4}}))?)"
    rf"|\b(?P<wd>{'|'.join(_WEEKDAYS)})\b"
    r"|\b(?P<rel>yesterday|today)\b",
    re.IGNORECASE,
)
_WORDS_RE = re.compile(r"\w+")


class TimelineEvent(BaseModel):
    """One dated event of a story: a sentence of an article, with its citation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    dated_by: Literal["text", "published"]
    text: str
    citation: Citation


class Timeline(BaseModel):
    """The events of a story, oldest first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    story: str
    events: list[TimelineEvent]


def event_date(sentence: str, published: date | None) -> tuple[date, str] | None:
    """The day `sentence` tells of, and whether the text or the publication date gives it.

    The first date in the sentence that is not after `published` wins (month-day dates take
    the publication's year, or the year before for a December date in a January article);
    a weekday is the last such day on or before publication; "yesterday" and "today" count
    from it. Without one, the publication date. None when neither gives a day.
    """
    for m in _DATE_RE.finditer(sentence):
        day = _match_day(m, published)
        if day is not None and (published is None or day <= published):
            return day, "text"
    return (published, "published") if published else None


def _match_day(m: re.Match[str], published: date | None) -> date | None:
    if m.group("iso"):
        return _safe_date(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
    if m.group("md") or m.group("dm"):
        month = _MONTHS[(m.group("m1") or m.group("m2")).lower()]
        day = int(m.group("d1") or m.group("d2"))
        year = m.group("y1") or m.group("y2")
        if year:
            return _safe_date(int(year), month, day)
        if published is None:
            return None
        found = _safe_date(published.year, month, day)
        if found is not None and (found - published).days > 183:  # "Dec. 20" in January
            found = _safe_date(published.year - 1, month, day)
        return found
    if published is None:
        return None
    if m.group("wd"):
        back = (published.weekday() - _WEEKDAYS.index(m.group("wd").lower())) % 7
        return published - timedelta(days=back)
    return published - timedelta(days=1 if m.group("rel").lower() == "yesterday" else 0)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    start: int  # in hit.chunk.text
    end: int
    text: str
    score: float
    vector: np.ndarray


def _candidates(story: str, hits: Sequence[Hit], embed: Embed) -> list[_Candidate]:
    """Every distinct sentence of the passages (overlapping chunks repeat some), scored."""
    seen: set[tuple[str, int]] = set()
    spans: list[tuple[Hit, int, int, str]] = []
    for hit in hits:
        text = hit.chunk.text
        for s, e in sentence_spans(text):
            key = (hit.chunk.article_id, hit.chunk.start + s)
            sentence = text[s:e]
            if key in seen or len(_WORDS_RE.findall(sentence)) < MIN_WORDS:
                continue
            if sentence.strip().rstrip(".") == hit.title.strip().rstrip("."):
                continue  # the headline
            seen.add(key)
            spans.append((hit, s, e, sentence))
    if not spans:
        return []
    vectors = np.asarray(embed([story, *(t for *_, t in spans)]))
    asked = content_words(story)
    out = []
    for (hit, s, e, sentence), vec in zip(spans, vectors[1:], strict=True):
        words = content_words(sentence)
        share = sum(word_found(w, words) for w in asked) / len(asked) if asked else 0.0
        score = float(vec @ vectors[0]) + LEXICAL_WEIGHT * share
        out.append(_Candidate(hit, s, e, sentence, score, vec))
    return out


def build_timeline(
    story: str,
    hits: Sequence[Hit],
    embed: Embed,
    *,
    max_events: int = 20,
    min_score: float = MIN_SCORE,
) -> Timeline:
    """The dated events of `story` told by the sentences of `hits`, oldest first.

    Args:
        story: What the timeline is about ("rare earth export controls").
        hits: Retrieved passages (near-duplicate articles already collapsed).
        embed: Embeds texts into unit vectors (the store's embedding model).
        max_events: Most events returned (the best-scoring ones).
        min_score: Least score of a sentence that counts as an event.
    """
    scored = _candidates(story, hits, embed)
    if not scored:
        return Timeline(story=story, events=[])
    floor = max(min_score, RELATIVE_SCORE * max(c.score for c in scored))
    days: dict[str, set[date]] = {}  # article -> the days of its events
    chosen: list[tuple[_Candidate, date, str]] = []
    for c in sorted(scored, key=lambda c: -c.score):
        if c.score < floor or len(chosen) >= max_events:
            break
        dated = event_date(c.text, c.hit.published)
        if dated is None:
            continue
        used = days.setdefault(c.hit.chunk.article_id, set())
        if used and (dated[1] != "text" or dated[0] in used or len(used) >= PER_ARTICLE):
            continue
        if not _merge_into(chosen, c, dated[0]):
            used.add(dated[0])
            chosen.append((c, *dated))
    chosen.sort(key=lambda x: (x[1], _day(x[0].hit.published), x[0].hit.chunk.article_id))
    events = []
    for n, (c, day, how) in enumerate(chosen, start=1):
        citation = cite(n, c.hit, c.start, c.end, c.score)
        dated_by: Literal["text", "published"] = "text" if how == "text" else "published"
        events.append(TimelineEvent(day=day, dated_by=dated_by, text=c.text, citation=citation))
    return Timeline(story=story, events=events)


def _merge_into(chosen: list[tuple[_Candidate, date, str]], c: _Candidate, day: date) -> bool:
    """Fold `c` into a chosen event of the same day that says the same; True when it did.

    The event is cited from the article published first; the other becomes one of its outlets.
    """
    for i, (other, other_day, _) in enumerate(chosen):
        if other_day != day or other.hit.chunk.article_id == c.hit.chunk.article_id:
            continue
        if float(other.vector @ c.vector) < SAME_EVENT_COSINE:
            continue
        first, second = sorted((other, c), key=lambda x: _day(x.hit.published))
        outlets = [*first.hit.also_in, _outlet(second.hit), *second.hit.also_in]
        own = first.hit.chunk.article_id
        unique = [o for o in {o.article_id: o for o in outlets}.values() if o.article_id != own]
        hit = first.hit.model_copy(update={"also_in": unique})
        kept = dataclasses.replace(first, hit=hit, score=max(first.score, second.score))
        dated = event_date(first.text, first.hit.published)
        chosen[i] = (kept, day, dated[1] if dated else "published")
        return True
    return False


def _outlet(hit: Hit) -> Outlet:
    return Outlet(
        article_id=hit.chunk.article_id,
        title=hit.title,
        source=hit.source,
        url=hit.url,
        published=hit.published,
    )


def _day(published: date | None) -> date:
    return published or date.max


def story_timeline(
    assistant: Assistant,
    story: str,
    *,
    max_events: int = 20,
    filters: Filters | None = None,
    as_of: date | None = None,
) -> Timeline:
    """The timeline of `story` over `assistant`'s stored articles (no model call).

    Raises:
        InputError: `story` is empty or too long.
    """
    hits = assistant.retrieve(story, k=PASSAGES, filters=filters, as_of=as_of)
    relevant = [h for h in hits if (h.dense or 0.0) >= assistant.settings.min_relevance]
    return build_timeline(story, relevant, assistant.embed, max_events=max_events)
