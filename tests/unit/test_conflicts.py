"""Conflicting sources: same fact, different value, both cited."""

from __future__ import annotations

from assistant.citations import cite
from assistant.conflicts import conflict_sentence, differs, find_conflicts
from assistant.types import Chunk, Hit

TRUE = "The game was played on February 7, 2021, at Raymond James Stadium in Tampa, Florida."
FAKE = "The game was played on February 7, 2021, at Raymond James Stadium in Glendale, Arizona."
OTHER = "Tickets for the next final went on sale in Las Vegas on Monday."


def _hit(article_id: str, text: str) -> Hit:
    chunk = Chunk(
        id=f"{article_id}:0", article_id=article_id, index=0, text=text, start=5, end=5 + len(text)
    )
    return Hit(chunk=chunk, score=1.0, title=article_id)


def test_differs_on_names_and_numbers_but_not_on_added_detail() -> None:
    assert differs(TRUE, FAKE)
    assert differs("The tariff is 100% on goods.", "The tariff is 50% on goods.")
    assert not differs("The tariff is 100% on goods.", "The tariff is 100% on goods from China.")
    assert not differs(TRUE, TRUE)


def test_a_contradicting_sentence_of_another_article_is_found() -> None:
    hits = [_hit("a", TRUE), _hit("b", FAKE + " " + OTHER)]
    citation = cite(1, hits[0], 0, len(TRUE), 0.9)
    found = find_conflicts([citation], hits)
    assert len(found) == 1
    assert found[0].quote == FAKE
    assert found[0].hit.chunk.article_id == "b"
    sentence = conflict_sentence(found[0], 2)
    assert "Glendale, Arizona" in sentence and sentence.endswith("[2].")


def test_unrelated_or_same_article_sentences_are_no_conflict() -> None:
    hits = [_hit("a", TRUE + " " + FAKE), _hit("b", OTHER)]
    citation = cite(1, hits[0], 0, len(TRUE), 0.9)
    assert find_conflicts([citation], hits) == []
