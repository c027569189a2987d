"""Unit tests for assistant.chunking: sentence splitting on news prose and chunk invariants."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.chunking import chunk_article, sentence_spans
from assistant.types import Article, Chunk


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def article(text: str, article_id: str = "a1") -> Article:
    return Article(id=article_id, title="T", text=text)


# --- sentence_spans -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        (
            "Mr. Smith met Dr. Jones in St. Louis. They talked.",
            ["Mr. Smith met Dr. Jones in St. Louis.", "They talked."],
        ),
        (
            "Trump set a 100% tariff by Nov. 1 if Beijing balks. It is No. 1 now.",
            ["Trump set a 100% tariff by Nov. 1 if Beijing balks.", "It is No. 1 now."],
        ),
        (
            "The pact is worth $8.5 billion. Growth was 3.5% in Jan. Prices rose.",
            ["The pact is worth $8.5 billion.", "Growth was 3.5% in Jan. Prices rose."],
        ),
        (
            "The U.S. economy grew. Investment in the U.S. The officials declined.",
            ["The U.S. economy grew.", "Investment in the U.S.", "The officials declined."],
        ),
        (
            "Boost U.S. access to minerals. J. K. Rowling wrote it.",
            ["Boost U.S. access to minerals.", "J. K. Rowling wrote it."],
        ),
        (
            'He said, "We will win." Then he left.',
            ['He said, "We will win."', "Then he left."],
        ),
        ("“It’s over.” She smiled.", ["“It’s over.”", "She smiled."]),
        ('"Why?" he asked. "Because."', ['"Why?" he asked.', '"Because."']),
        (
            "Apple Inc. said so. Apple Inc. The end.",
            ["Apple Inc. said so.", "Apple Inc.", "The end."],
        ),
        (
            "A headline without a stop\nFirst line of body\n\n  Indented para.  ",
            ["A headline without a stop", "First line of body", "Indented para."],
        ),
        ("Wait... What happened?", ["Wait...", "What happened?"]),
        ("e.g. this one continues. Next.", ["e.g. this one continues.", "Next."]),
        ("", []),
        ("  \n \n", []),
    ],
)
def test_sentence_spans_news_cases(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def check_spans(text: str, spans: list[tuple[int, int]]) -> None:
    covered = [False] * len(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip()
        assert "\n" not in piece
        for i in range(start, end):
            covered[i] = True
        previous_end = end
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())


# Text made of news-like tokens so the abbreviation and quote rules are exercised often.
news_tokens = st.sampled_from(
    [
        "word", "Word", "U.S.", "Mr.", "Nov.", "J.", "3.5%", "$8.5", "end.", "end.”", 'end."',
        "why?", "no!", "Inc.", "...", "(", ")", "—", "“", "”", "The", "a", "1.", "x" * 30,
    ]
)  # fmt: skip
separators = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", "\t", "\xa0", "\r\n", ""])
news_text = st.lists(st.tuples(news_tokens, separators), max_size=120).map(
    lambda pairs: "".join(token + sep for token, sep in pairs)
)


@given(st.one_of(news_text, st.text()))
def test_sentence_spans_properties(text: str) -> None:
    check_spans(text, sentence_spans(text))


# --- chunk_article ------------------------------------------------------------------------


def check_chunks(art: Article, chunks: list[Chunk], size: int) -> None:
    text = art.text
    assert [c.index for c in chunks] == list(range(len(chunks)))
    covered = [False] * len(text)
    for i, chunk in enumerate(chunks):
        assert chunk.id == f"{art.id}#{i}"
        assert chunk.article_id == art.id
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.strip() == chunk.text != ""
        assert len(chunk.text) <= size
        if i:
            previous = chunks[i - 1]
            assert chunk.start > previous.start
            assert chunk.end > previous.end  # never contained in the previous chunk
        for j in range(chunk.start, chunk.end):
            covered[j] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(news_text, st.text(min_size=1)),
    size=st.integers(min_value=1, max_value=400),
    overlap_ratio=st.floats(min_value=0, max_value=1.5),
)
def test_chunk_invariants(text: str, size: int, overlap_ratio: float) -> None:
    art = article(text)
    overlap = int(size * overlap_ratio)
    chunks = chunk_article(art, size=size, overlap=overlap)
    check_chunks(art, chunks, size)
    assert chunk_article(art, size=size, overlap=overlap) == chunks  # stable across runs


NEWS = (
    "WASHINGTON — President Donald Trump will look to sign economic agreements during his "
    "trip to Asia, according to senior U.S. officials. The officials did not offer specifics.\n"
    "Trump, in turn, has threatened to impose an additional 100% tariff on Chinese products by "
    "Nov. 1 if Beijing does not pull back those restrictions. He has also moved to secure "
    "alternate sources.\nEarlier this week, Trump signed a pact valued at $8.5 billion. "
    "Ahead of the Xi meeting, Trump has also looked to ramp up his own negotiating position. "
    "Also on the table is a current tariff understanding set to end in November."
)


def test_chunks_of_news_text_overlap_by_whole_sentences() -> None:
    art = article(NEWS, "seed")
    chunks = chunk_article(art, size=200, overlap=60)
    check_chunks(art, chunks, 200)
    assert len(chunks) > 2
    starts = {start for start, _ in sentence_spans(NEWS)}
    ends = {end for _, end in sentence_spans(NEWS)}
    for previous, chunk in itertools.pairwise(chunks):
        assert chunk.start in starts and chunk.end in ends  # whole sentences only
        assert chunk.start < previous.end  # at least one sentence shared
    assert chunks[0].id == "seed#0"


def test_no_overlap_when_zero() -> None:
    chunks = chunk_article(article(NEWS), size=200, overlap=0)
    for previous, chunk in itertools.pairwise(chunks):
        assert chunk.start >= previous.end


def test_overlap_is_about_the_requested_size() -> None:
    text = " ".join(f"Sentence number {i:03d} is here." for i in range(200))  # 29 chars each
    chunks = chunk_article(article(text), size=300, overlap=90)
    check_chunks(article(text), chunks, 300)
    for previous, chunk in itertools.pairwise(chunks):
        shared = previous.end - chunk.start
        assert 29 <= shared <= 90


def test_short_article_is_one_chunk() -> None:
    art = article("Just one short sentence. And another.")
    (chunk,) = chunk_article(art)
    assert (chunk.start, chunk.end, chunk.text) == (0, len(art.text), art.text)
    assert chunk.id == "a1#0"


def test_blank_article_has_no_chunks() -> None:
    assert chunk_article(article("")) == []
    assert chunk_article(article(" \n ")) == []


def test_long_sentence_is_split_at_words() -> None:
    words = [f"w{i}" for i in range(300)]
    art = article(" ".join(words) + ".")
    chunks = chunk_article(art, size=100, overlap=20)
    check_chunks(art, chunks, 100)
    for chunk in chunks:
        for token in chunk.text.rstrip(".").split():
            assert token in words  # no word was cut


def test_monster_word_is_cut() -> None:
    art = article("short " + "x" * 250 + " tail")
    chunks = chunk_article(art, size=100, overlap=0)
    check_chunks(art, chunks, 100)
    assert [len(c.text) for c in chunks] == [5, 100, 100, 55]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="chunk size"):
        chunk_article(article("x"), size=0)
    with pytest.raises(ValueError, match="overlap"):
        chunk_article(article("x"), overlap=-1)


def test_chunking_is_fast_on_a_large_article() -> None:
    text = "\n".join([NEWS] * 1500)  # about 1 MB
    art = article(text)
    began = time.perf_counter()
    chunks = chunk_article(art)
    elapsed = time.perf_counter() - began
    assert len(chunks) > 1000
    assert chunks[-1].end == len(text)
    assert elapsed < 10  # linear: well under a second; quadratic would take minutes
