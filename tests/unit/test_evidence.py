"""Evidence selection: the sentences of the retrieved passages handed to the model."""

from __future__ import annotations

import re
import zlib

import numpy as np

from assistant.evidence import select_evidence
from assistant.types import Chunk, Hit

ARTICLE = (
    "Trump is due to travel to Asia this week. "
    "He will visit Malaysia, Japan and South Korea. "
    "The weather in Kuala Lumpur was hot. "
    "Trump threatened an additional 100% tariff on Chinese goods by Nov. 1. "
    "The White House declined to comment on the schedule."
)
OTHER = (
    "Soybean farmers in Iowa are waiting for China to resume purchases. "
    "Prices have fallen this year. "
    "Analysts expect a deal before the tariff deadline."
)


class FakeEmbed:
    """Bag-of-words vectors: texts sharing words are similar (a stand-in for MiniLM)."""

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 256))
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, zlib.crc32(word.encode()) % 256] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


def _hit(article_id: str, text: str, offset: int = 0, rank: int = 0) -> Hit:
    chunk = Chunk(
        id=f"{article_id}:{rank}",
        article_id=article_id,
        index=rank,
        text=text,
        start=offset,
        end=offset + len(text),
    )
    return Hit(chunk=chunk, score=1.0 / (rank + 1), title=article_id)


def test_the_answering_sentence_is_selected_with_true_offsets() -> None:
    article = "Header line of the page.\n" + ARTICLE
    offset = article.index("Trump is due")
    hits = [_hit("a", ARTICLE, offset=offset), _hit("b", OTHER, rank=1)]
    chosen = select_evidence("What tariff did Trump threaten?", hits, FakeEmbed(), max_sentences=2)
    texts = [h.chunk.text for h in chosen]
    assert any("100% tariff" in t for t in texts)
    assert "hot" not in " ".join(texts)
    for hit in chosen:
        source = article if hit.chunk.article_id == "a" else OTHER
        assert source[hit.chunk.start : hit.chunk.end] == hit.chunk.text


def test_best_evidence_comes_first_and_is_shorter_than_the_passages() -> None:
    hits = [_hit("b", OTHER), _hit("a", ARTICLE, rank=1)]
    chosen = select_evidence("What tariff did Trump threaten?", hits, FakeEmbed(), max_sentences=3)
    assert "100% tariff" in chosen[0].chunk.text
    assert sum(len(h.chunk.text) for h in chosen) < len(ARTICLE) + len(OTHER)


def test_a_sentence_that_points_back_brings_its_neighbour() -> None:
    hits = [_hit("a", ARTICLE)]
    chosen = select_evidence(
        "Which countries will he visit, Malaysia, Japan?", hits, FakeEmbed(), max_sentences=1
    )
    assert len(chosen) == 1
    assert chosen[0].chunk.text.startswith("Trump is due to travel")
    assert chosen[0].chunk.text.endswith("South Korea.")


def test_adjacent_selected_sentences_form_one_source() -> None:
    hits = [_hit("a", ARTICLE)]
    chosen = select_evidence(
        "Trump Asia travel week visit Malaysia Japan", hits, FakeEmbed(), max_sentences=2
    )
    assert [h.chunk.text for h in chosen] == [
        "Trump is due to travel to Asia this week. He will visit Malaysia, Japan and South Korea."
    ]


def test_per_passage_cap_leaves_room_for_other_passages() -> None:
    long = " ".join(f"Trump tariff sentence number {i} about China." for i in range(10))
    hits = [_hit("a", long), _hit("b", OTHER, rank=1)]
    chosen = select_evidence("Trump tariff China deadline", hits, FakeEmbed(), max_sentences=5)
    assert {h.chunk.article_id for h in chosen} == {"a", "b"}


def test_no_hits_no_evidence() -> None:
    assert select_evidence("Anything?", [], FakeEmbed()) == []


def test_character_budget_is_kept() -> None:
    hits = [_hit("a", ARTICLE), _hit("b", OTHER, rank=1)]
    chosen = select_evidence("Trump tariff China", hits, FakeEmbed(), max_chars=120)
    assert sum(len(h.chunk.text) for h in chosen) <= 120 or len(chosen) == 1
