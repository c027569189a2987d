"""Conflicting sources: two articles that tell the same fact with different values.

When the sentence an answer cites says "in Tampa, Florida" and another selected sentence from a
different article says the same thing but "in Glendale, Arizona", picking one silently would
hide a disagreement the reader should see. `find_conflicts` pairs each cited quote with the
evidence sentences of other articles that share most of its words but
give a different number or name; the chain then says the sources disagree and cites both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.chunking import sentence_spans
from assistant.text import content_words, name_words, number_keys
from assistant.types import Citation, Hit

MIN_OVERLAP = 0.5
"""Least share of the longer sentence's content words (names and numbers too) the other holds:
a headline fragment inside a long sentence is not the same statement."""
MIN_SHARED = 3
"""Least number of content words two sentences share to be telling the same fact."""


@dataclass(frozen=True)
class Conflict:
    """A cited quote and a sentence of another article giving a different value."""

    citation: Citation
    hit: Hit
    start: int
    end: int
    overlap: float

    @property
    def quote(self) -> str:
        return self.hit.chunk.text[self.start : self.end]


def differs(a: str, b: str) -> bool:
    """Do two sentences give different values: a number or a name each has and the other lacks?

    A value one sentence adds (a date the other leaves out) is more detail, not a conflict.
    """
    na, nb = number_keys(a), number_keys(b)
    if na - nb and nb - na:
        return True
    ma, mb = name_words(a), name_words(b)
    return bool(ma - mb) and bool(mb - ma)


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared content words over the larger set's size; 0 below `MIN_SHARED` shared words."""
    shared = len(a & b)
    return shared / max(len(a), len(b)) if shared >= MIN_SHARED else 0.0


def contradicts(a: str, b: str) -> bool:
    """Do two texts say the same thing in mostly the same words, but with other values?"""
    return overlap(content_words(a), content_words(b)) >= MIN_OVERLAP and differs(a, b)


def find_conflicts(citations: Sequence[Citation], evidence: Sequence[Hit]) -> list[Conflict]:
    """For each cited quote, the best-matching evidence sentence that contradicts it, if any.

    Args:
        citations: The verified citations of an answer.
        evidence: The passages the model was given.

    Returns:
        At most one conflict per citation, and each contradicting sentence used once.
    """
    sentences = [
        (hit, start, end) for hit in evidence for start, end in sentence_spans(hit.chunk.text)
    ]
    cited_articles = {c.article_id for c in citations}
    used: set[tuple[str, int]] = set()
    found: list[Conflict] = []
    for citation in citations:
        words = content_words(citation.quote)
        best: Conflict | None = None
        for hit, start, end in sentences:
            if hit.chunk.article_id in cited_articles:
                continue
            text = hit.chunk.text[start:end]
            share = overlap(words, content_words(text))
            if share < MIN_OVERLAP or not differs(citation.quote, text):
                continue
            key = (hit.chunk.article_id, hit.chunk.start + start)
            if key in used:
                continue
            if best is None or share > best.overlap:
                best = Conflict(citation, hit, start, end, share)
        if best is not None:
            used.add((best.hit.chunk.article_id, best.hit.chunk.start + best.start))
            found.append(best)
    return found


def conflict_sentence(conflict: Conflict, n: int) -> str:
    """The sentence that tells the reader the sources disagree, citing the other source."""
    quote = " ".join(conflict.quote.split())
    return f"The sources disagree: another says “{quote}” [{n}]."
