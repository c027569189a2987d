"""Pure parts of retrieval: tokenising, filters, time handling, per-article caps, packing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from assistant.retrieve import (
    Filters,
    asks_for_recent,
    cap_per_article,
    pack_hits,
    period_days,
    time_filters,
    tokenize,
)
from assistant.types import Chunk, Hit

TEXT = "Alpha one. Beta two. Gamma three. Delta four. Epsilon five."


def _hit(article: str, start: int, end: int, score: float, text: str = TEXT) -> Hit:
    chunk = Chunk(
        id=f"{article}#{start}",
        article_id=article,
        index=start,
        text=text[start:end],
        start=start,
        end=end,
    )
    return Hit(chunk=chunk, score=score, dense=score, title=article)


def test_tokenize_drops_stopwords_and_folds_plurals() -> None:
    assert tokenize("The tariffs on China's exports") == ["tariff", "china", "export"]
    assert "100%" in tokenize("an additional 100% tariff")


def test_tokenize_stems_words_and_keeps_numbers_dollars_and_percents() -> None:
    # past, plural and -ing forms meet the same stem; a possessive loses only its 's
    assert tokenize("recalled") == tokenize("recalls") == tokenize("recalling")
    assert tokenize("automakers vehicles") == tokenize("automaker vehicle")
    assert tokenize("the boss's office") == tokenize("boss office")
    assert tokenize("recovered 8.5 million in 2022") == ["recov", "8.5", "million", "2022"]
    assert tokenize("$6 billion, up 3.5% from 1,000") == ["$6", "billion", "3.5%", "1,000"]
    assert tokenize("U.S. officials") == ["u.s", "offici"]
    assert tokenize("8.5") != tokenize("85")


def test_url_words_are_the_slug_of_a_news_url() -> None:
    from assistant.loaders.metadata import url_words

    cnn = "https://www.cnn.com/2022/06/15/business/ford-recall/index.html"
    assert url_words(cnn) == ["ford", "recall"]
    usa = "https://www.usatoday.com/story/news/2022/06/15/jan-6-hearing-day-3/7634534001/"
    assert url_words(usa) == ["jan", "hearing", "day"]
    live = "https://www.cnn.com/europe/live-news/ukraine-news-07-12-22/h_c164ac931cc8414108b8b"
    assert url_words(live) == ["live", "news", "ukraine", "news"]
    assert url_words(None) == url_words("") == url_words("https://example.com/a/b") == []


class FakeChunkStore:
    """What LexicalIndex reads: a revision and pages of chunk records with metadata."""

    def __init__(self, records: list[tuple[str, str, dict[str, str]]]) -> None:
        self.records = records

    def revision(self) -> str:
        return "r1"

    def iter_chunk_records(self, batch: int = 2) -> Iterator[Any]:
        for i in range(0, len(self.records), batch):
            page = self.records[i : i + batch]
            yield [r[0] for r in page], [r[1] for r in page], [r[2] for r in page]


def test_lexical_index_finds_a_chunk_by_its_articles_title_and_url() -> None:
    from assistant.retrieve import LexicalIndex

    ad = "How relevant is this ad to you? Video player was slow to load content."
    url = "https://www.cnn.com/2022/06/15/business/ford-recall/index.html"
    store = FakeChunkStore(
        [
            ("ford#0@v", ad, {"article_id": "ford", "url": url}),
            ("ford#1@v", "More boilerplate.", {"article_id": "ford", "url": url}),
            ("soda#0@v", ad, {"article_id": "soda", "title": "Sprite drops green bottles"}),
            ("other#0@v", "Stocks fell on Tuesday.", {"article_id": "other"}),
        ]
    )
    index = LexicalIndex(store)  # type: ignore[arg-type]
    assert {cid for cid, _ in index.search("Which automaker recalled vehicles?", 5)} == {
        "ford#0@v",
        "ford#1@v",
    }
    assert [cid for cid, _ in index.search("new bottle for Sprite", 5)] == ["soda#0@v"]


class FakeNotingStore(FakeChunkStore):
    """FakeChunkStore with the id listing and by-id reads of a catch-up, which it counts."""

    def __init__(self, records: list[tuple[str, str, dict[str, str]]]) -> None:
        super().__init__(records)
        self.read: list[str] = []

    def chunk_ids(self) -> list[str]:
        return [r[0] for r in self.records]

    def chunks_by_ids(self, ids: list[str]) -> tuple[list[Any], list[str]]:
        self.read += ids
        found = []
        for cid, text, meta in self.records:
            if cid in ids:
                chunk = SimpleNamespace(text=text, article_id=meta["article_id"])
                found.append((cid, SimpleNamespace(chunk=chunk, title=None, url=None)))
        return found, []

    def iter_chunk_records(self, batch: int = 2) -> Iterator[Any]:
        self.read += [r[0] for r in self.records]
        yield from super().iter_chunk_records(batch)


def test_chunks_noted_at_ingest_are_not_read_back_and_score_as_if_read() -> None:
    from assistant.retrieve import LexicalIndex

    records = [
        ("a#0@v", "Tariffs on Chinese steel rose to 25 percent.", {"article_id": "a"}),
        ("b#0@v", "Rare earth exports from China fell.", {"article_id": "b"}),
        ("c#0@v", "Steel mills in Ohio hired workers.", {"article_id": "c"}),
    ]
    noting = FakeNotingStore(records)
    noted = LexicalIndex(noting)  # type: ignore[arg-type]
    # the ingest noted the first two; the third was written by another process
    noted.note(
        [r[0] for r in records[:2]], [r[1] for r in records[:2]], [r[2] for r in records[:2]]
    )
    reading = FakeNotingStore(records)
    read = LexicalIndex(reading)  # type: ignore[arg-type]
    for query in ("steel tariffs", "China rare earth exports", "Ohio steel"):
        got, want = noted.search(query, 3), read.search(query, 3)
        assert [cid for cid, _ in got] == [cid for cid, _ in want] != []
        assert [score for _, score in got] == pytest.approx([score for _, score in want])
    assert noting.read == ["c#0@v"]  # only the chunk it had not noted
    assert len(reading.read) == 3


def test_filters_build_chroma_where_and_agree_in_python() -> None:
    f = Filters(sources=("CNN",), since=date(2022, 6, 1), until=date(2022, 6, 30))
    where = f.where()
    assert where is not None and len(where["$and"]) == 3
    assert f.accepts({"source": "CNN", "published_int": 20220615})
    assert not f.accepts({"source": "CNN", "published_int": 20220701})
    assert not f.accepts({"source": "BBC", "published_int": 20220615})
    assert Filters().where() is None


def test_recency_intent() -> None:
    assert asks_for_recent("Which show was green lit this week?")
    assert asks_for_recent("What is the latest on the tariffs?")
    assert not asks_for_recent("What tariff did Trump threaten?")


def test_as_of_excludes_later_articles_and_keeps_tighter_bounds() -> None:
    f = time_filters("anything", Filters(), date(2022, 6, 16))
    assert f.until == date(2022, 6, 16)
    tighter = Filters(until=date(2022, 6, 1))
    assert time_filters("anything", tighter, date(2022, 6, 16)).until == date(2022, 6, 1)
    assert time_filters("anything", Filters(), None) == Filters()


def test_as_of_month_in_the_question() -> None:
    f = time_filters("What was the rate as of October?", Filters(), date(2025, 11, 20))
    assert f.until == date(2025, 10, 31)
    f = time_filters("Who led as of December 2021?", Filters(), None)
    assert f.until == date(2021, 12, 31)


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("Which show was green lit this week?", 7),
        ("Who won the vote yesterday?", 2),
        ("What did the Fed decide today?", 1),
        ("What happened last week in Congress?", 14),
        ("Which film recently broke a record?", 31),
        ("What tariff did Trump threaten?", None),
        ("Who is the weekly columnist?", None),
    ],
)
def test_relative_periods(question: str, days: int | None) -> None:
    assert period_days(question) == days
    f = time_filters(question, Filters(), date(2022, 6, 16))
    assert f.until == date(2022, 6, 16)
    assert f.since == (date(2022, 6, 16) - timedelta(days=days) if days else None)


def test_period_reads_against_the_newest_article_without_as_of() -> None:
    q = "Which show was green lit this week?"
    assert time_filters(q, Filters(), None, newest=date(2025, 10, 24)) == Filters(
        since=date(2025, 10, 17)
    )
    assert time_filters(q, Filters(), None) == Filters()  # no reference: no window
    f = time_filters("What rose this year?", Filters(), date(2022, 6, 16))
    assert f.since == date(2022, 1, 1)
    narrower = Filters(since=date(2022, 6, 14))
    assert time_filters(q, narrower, date(2022, 6, 16)).since == date(2022, 6, 14)


def test_cap_per_article_prefers_other_articles_then_refills() -> None:
    ranked = [_hit("a", 0, 10, 0.9), _hit("a", 11, 20, 0.8), _hit("b", 0, 10, 0.7)]
    assert [h.chunk.article_id for h in cap_per_article(ranked, 2, 1)] == ["a", "b"]
    only_a = [_hit("a", 0, 10, 0.9), _hit("a", 11, 20, 0.8), _hit("a", 21, 33, 0.7)]
    assert len(cap_per_article(only_a, 3, 1)) == 3


def test_pack_hits_merges_overlapping_passages_of_one_article() -> None:
    hits = [_hit("a", 11, 33, 0.5), _hit("a", 0, 20, 0.9), _hit("b", 0, 10, 0.7)]
    packed = pack_hits(hits)
    assert [h.chunk.article_id for h in packed] == ["a", "b"]
    merged = packed[0].chunk
    assert (merged.start, merged.end) == (0, 33)
    assert merged.text == TEXT[0:33]
    assert packed[0].score == 0.9


def test_pack_hits_keeps_separate_spans_apart() -> None:
    packed = pack_hits([_hit("a", 0, 10, 0.9), _hit("a", 21, 33, 0.5)])
    assert [(h.chunk.start, h.chunk.end) for h in packed] == [(0, 10), (21, 33)]


def test_rerank_promotes_the_passage_with_the_best_sentence_window() -> None:
    from assistant.retrieve import rerank

    texts = {
        "a": "Markets were calm. Traders waited. Nothing moved.",
        "b": "Prices rose. The tariff is 100 percent. Talks continue.",
        "c": "Weather was fine. It rained later.",
    }
    ranked = [
        _hit(aid, 0, len(t), 1.0 - i / 10, text=t) for i, (aid, t) in enumerate(texts.items())
    ]
    q = np.array([1.0, 0.0])

    def fake_embed(batch: list[str]) -> np.ndarray:  # fake embedder: "tariff" windows match
        return np.array([[1.0, 0.0] if "tariff" in t else [0.0, 1.0] for t in batch])

    out = rerank(q, ranked, fake_embed, depth=3, window=2)
    assert [h.chunk.article_id for h in out] == ["b", "a", "c"]
    assert out[0].score >= out[1].score > out[2].score
    assert out[0].dense == ranked[1].dense  # the relevance gate's similarity is untouched


def test_rerank_leaves_the_tail_and_tiny_lists_alone() -> None:
    from assistant.retrieve import rerank

    hits = [_hit(str(i), 0, 5, 1.0 - i / 10) for i in range(4)]
    calls: list[int] = []

    def fake_embed(batch: list[str]) -> np.ndarray:
        calls.append(len(batch))
        return np.zeros((len(batch), 2))

    assert rerank(np.array([1.0, 0.0]), hits[:1], fake_embed) == hits[:1]
    assert calls == []
    out = rerank(np.array([1.0, 0.0]), hits, fake_embed, depth=2)
    assert out[2:] == hits[2:] and len(calls) == 1


def test_fit_budget_keeps_the_best_hits_that_fit_the_context() -> None:
    from assistant.retrieve import fit_budget

    long_text = "word " * 400  # 2,000 characters
    hits = [_hit(str(i), 0, len(long_text), 1.0 - i / 10, text=long_text) for i in range(5)]
    assert fit_budget(hits, n_ctx=4096, max_tokens=200) == hits  # 10k chars fit in ~10k
    few = fit_budget(hits, n_ctx=1600, max_tokens=200)  # (1600-200-400)*3 = 3,000 chars
    assert few == hits[:1]
    tiny = fit_budget(hits, n_ctx=1000, max_tokens=200)  # 1,200 chars: the first, cut
    assert len(tiny) == 1 and len(tiny[0].chunk.text) == 1200 - len(tiny[0].title) - 40
    assert tiny[0].chunk.end - tiny[0].chunk.start == len(tiny[0].chunk.text)
