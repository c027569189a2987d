"""Story timelines: dating sentences, choosing events, merging outlets (tests/stories.py)."""

from __future__ import annotations

import html
import re
import zlib
from datetime import date

import numpy as np
import pytest

from assistant.timeline import Timeline, build_timeline, event_date
from assistant.types import Chunk, Hit, Outlet
from tests.stories import ARTICLES, STORY

BY_ID = {a["id"]: a for a in ARTICLES}


class FakeEmbed:
    """Bag-of-words vectors: texts sharing words are similar (a stand-in for MiniLM)."""

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 512))
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, zlib.crc32(word.encode()) % 512] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def _hit(article_id: str, *, text: str | None = None, also_in: tuple[str, ...] = ()) -> Hit:
    """The whole article as one passage, as retrieval would return it."""
    a = BY_ID[article_id]
    body = a["text"] if text is None else text
    published = date.fromisoformat(a["published"]) if a.get("published") else None
    chunk = Chunk(
        id=f"{article_id}#0", article_id=article_id, index=0, text=body, start=0, end=len(body)
    )
    outlets = [
        Outlet(
            article_id=o,
            title=BY_ID[o]["title"],
            source=BY_ID[o]["source"],
            published=date.fromisoformat(BY_ID[o]["published"]),
        )
        for o in also_in
    ]
    return Hit(
        chunk=chunk,
        score=1.0,
        title=a["title"],
        source=a["source"],
        published=published,
        also_in=outlets,
    )


def _story_hits() -> list[Hit]:
    # retrieval keeps one article of the near-duplicate wire pair and names the other
    return [
        _hit("widened"),
        _hit("wire-reuters", also_in=("wire-ap",)),
        _hit("explainer"),
        _hit("tariff"),
        _hit("magnets"),
        _hit("bikes"),
    ]


# --- event_date ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "published", "expected"),
    [
        ("On April 4, the ministry acted.", date(2025, 4, 5), (date(2025, 4, 4), "text")),
        (
            "Carmakers said on Tuesday that plants stopped.",
            date(2025, 6, 4),
            (date(2025, 6, 3), "text"),
        ),
        ("China on Thursday expanded the rules.", date(2025, 10, 9), (date(2025, 10, 9), "text")),
        ("He said on Oct. 10 that he would act.", date(2025, 10, 11), (date(2025, 10, 10), "text")),
        ("The vote was on 3 March 2024.", date(2025, 1, 1), (date(2024, 3, 3), "text")),
        ("The filing is dated 2025-02-28.", date(2025, 3, 1), (date(2025, 2, 28), "text")),
        ("Talks collapsed yesterday.", date(2025, 3, 1), (date(2025, 2, 28), "text")),
        # a December date in a January article is last year's
        ("The ban began on Dec. 20.", date(2025, 1, 10), (date(2024, 12, 20), "text")),
        # a later date is a deadline, not the day of the event
        ("The rules take effect on Dec. 1.", date(2025, 10, 9), (date(2025, 10, 9), "published")),
        (
            "Tariffs come by Nov. 1 unless talks resume.",
            date(2025, 10, 11),
            (date(2025, 10, 11), "published"),
        ),
        # the first date that is not after publication wins
        (
            "By Nov. 1, after the Oct. 9 rules, talks resume.",
            date(2025, 10, 11),
            (date(2025, 10, 9), "text"),
        ),
        ("No day is named here.", date(2025, 5, 2), (date(2025, 5, 2), "published")),
        ("An impossible Feb. 30 date.", date(2025, 3, 2), (date(2025, 3, 2), "published")),
        ("Signed on March 3, 2024, in Geneva.", None, (date(2024, 3, 3), "text")),
        ("Signed on March 3 in Geneva.", None, None),
        ("Nothing dated at all.", None, None),
    ],
)
def test_event_date(
    sentence: str, published: date | None, expected: tuple[date, str] | None
) -> None:
    assert event_date(sentence, published) == expected


# --- build_timeline -----------------------------------------------------------------------------


def test_the_story_is_dated_events_oldest_first_with_exact_citations() -> None:
    timeline = build_timeline(STORY, _story_hits(), FakeEmbed())
    days = [e.day for e in timeline.events]
    assert days == sorted(days)
    assert [(e.day, e.citation.article_id) for e in timeline.events] == [
        (date(2025, 4, 4), "wire-reuters"),
        (date(2025, 6, 3), "magnets"),
        (date(2025, 10, 9), "widened"),
        (date(2025, 10, 10), "tariff"),
    ]
    for n, event in enumerate(timeline.events, start=1):
        c = event.citation
        assert c.n == n and event.dated_by == "text"
        assert BY_ID[c.article_id]["text"][c.start : c.end] == c.quote == event.text
    # the republished wire story is one event naming the other outlet
    assert [o.source for o in timeline.events[0].citation.also_in] == ["AP"]
    assert timeline.events[0].text.startswith("BEIJING — On April 4, China's Commerce Ministry")


def test_undated_off_story_and_deadline_sentences_are_not_events() -> None:
    timeline = build_timeline(STORY, _story_hits(), FakeEmbed())
    texts = " ".join(e.text for e in timeline.events)
    ids = {e.citation.article_id for e in timeline.events}
    assert "explainer" not in ids  # neither the article nor its sentences give a day
    assert "bikes" not in ids  # dated, but not the story
    assert "take effect on Dec. 1" not in texts
    assert all(e.day <= date(2025, 10, 11) for e in timeline.events)


def test_offsets_point_into_the_article_when_the_passage_is_a_later_chunk() -> None:
    a = BY_ID["magnets"]
    cut = a["text"].index("European carmakers said")
    body = a["text"][cut:]
    hit = _hit("magnets", text=body)
    hit = hit.model_copy(
        update={"chunk": hit.chunk.model_copy(update={"start": cut, "end": len(a["text"])})}
    )
    (event,) = build_timeline(STORY, [hit], FakeEmbed()).events
    assert a["text"][event.citation.start : event.citation.end] == event.text
    assert event.citation.start == cut


def test_the_same_event_from_two_outlets_is_one_event_cited_from_the_first() -> None:
    sentence = (
        "China on Thursday expanded its rare earth export controls to cover processing "
        "technology and products made abroad with Chinese rare earths."
    )
    late = _hit("widened").model_copy(update={"published": date(2025, 10, 10), "source": "Late"})
    late = late.model_copy(
        update={
            "chunk": late.chunk.model_copy(
                update={
                    "id": "late#0",
                    "article_id": "late",
                    "text": sentence,
                    "end": len(sentence),
                }
            ),
            "title": "Late copy",
        }
    )
    early = _hit("widened", text=sentence)
    timeline = build_timeline(STORY, [late, early], FakeEmbed())
    # Thursday is read against each article's own date: Oct. 9 for both
    (event,) = timeline.events
    assert event.day == date(2025, 10, 9)
    assert event.citation.article_id == "widened"
    assert [o.article_id for o in event.citation.also_in] == ["late"]


def test_an_article_gives_a_second_event_only_for_a_day_its_text_names() -> None:
    text = (
        "Rare earth export controls timeline\n"
        "On April 4, China put seven rare earths under export controls with new licences. "
        "On Oct. 9, China widened the rare earth export controls to processing technology. "
        "Analysts said the export controls would also hurt Chinese exporters."
    )
    hit = _hit("widened", text=text)
    timeline = build_timeline(STORY, [hit], FakeEmbed())
    assert [(e.day, e.dated_by) for e in timeline.events] == [
        (date(2025, 4, 4), "text"),
        (date(2025, 10, 9), "text"),
    ]


def test_no_passages_no_events_and_max_events_keeps_the_best() -> None:
    assert build_timeline(STORY, [], FakeEmbed()) == Timeline(story=STORY, events=[])
    top = build_timeline(STORY, _story_hits(), FakeEmbed(), max_events=2)
    assert len(top.events) == 2
    days = [e.day for e in top.events]
    assert days == sorted(days)


# --- the UI tab's rendering ----------------------------------------------------------------------


def test_timeline_html_escapes_and_links_each_event_to_its_offsets() -> None:
    from assistant.ui import render_timeline_html

    hostile = _hit("magnets").model_copy(update={"title": '<img src=x onerror="alert(1)">'})
    timeline = build_timeline(
        STORY, [hostile, _hit("wire-reuters", also_in=("wire-ap",))], FakeEmbed()
    )
    page = render_timeline_html(timeline)
    assert "<img" not in page and "&lt;img src=x" in page
    for e in timeline.events:
        c = e.citation
        assert f'data-article="{c.article_id}" data-start="{c.start}" data-end="{c.end}"' in page
        assert f'<time datetime="{e.day.isoformat()}"' in page
    assert "Also published by: AP (2025-04-06)" in page
    assert "oldest first" in page
    assert "No dated events of “volcano”" in render_timeline_html(
        Timeline(story="volcano", events=[])
    )
    assert "rare earth" in render_timeline_html(None)  # the hint before a story is asked


class FakeStoryAssistant:
    """`retrieve`, `embed`, `article` and `settings`: what the timeline tab uses."""

    def __init__(self) -> None:
        from pathlib import Path

        from assistant.config import Settings

        self.settings = Settings(data_dir=Path("/nonexistent"))
        self.embed = FakeEmbed()

    def retrieve(self, story: str, **_: object) -> list[Hit]:
        if not story.strip():
            from assistant.errors import InputError

            raise InputError("the question is empty")
        return [h.model_copy(update={"dense": 0.6}) for h in _story_hits()]

    def article(self, article_id: str) -> object:
        from assistant.errors import InputError
        from assistant.types import Article

        if article_id not in BY_ID:
            raise InputError(f"no article with id '{article_id}'")
        a = BY_ID[article_id]
        return Article(id=a["id"], title=a["title"], text=a["text"], source=a["source"])


def test_the_timeline_tab_lists_events_and_opens_an_event_on_its_sentence() -> None:
    from assistant.ui.app import _timeline_article, _timeline_page

    fake = FakeStoryAssistant()
    page = _timeline_page(fake, STORY)  # type: ignore[arg-type]
    assert page.count('class="timeline-event"') == 4
    assert "rare earth" in _timeline_page(fake, "  ")  # the hint, no retrieval
    event = build_timeline(STORY, _story_hits(), FakeEmbed()).events[1]
    c = event.citation
    shown = _timeline_article(fake, {"article": c.article_id, "start": c.start, "end": c.end})  # type: ignore[arg-type]
    assert f'<mark id="highlight" class="quote">{html.escape(event.text)}</mark>' in shown
    assert "no article with id" in _timeline_article(fake, {"article": "gone"})  # type: ignore[arg-type]
    assert "not understood" in _timeline_article(fake, {"article": "magnets", "start": "x"})  # type: ignore[arg-type]
