"""Review the model's raw answer: verify its citations, check it answers, name conflicts.

The last step of the chain. Everything the model wrote is checked against what it was shown
before a reader sees it, and when the answer cannot stand, the `Review` says why
(`reason`), so the UI, the CLI's `--json` and the eval reports can tell the kinds of
abstention apart:

- `no_passages`: retrieval found nothing relevant enough, so the model was not asked;
- `model`: the model itself said the articles do not hold the answer (or said nothing);
- `unsupported`: no sentence of the answer is backed by the passage it cites;
- `off_point`: the answer is cited and true but does not answer the question asked (the
  answer check in `partial.answers_question`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.citations import (
    abstention_text,
    cite,
    is_abstention,
    parse_markers,
    says_unanswered,
    unverified_citations,
    verify_citations,
)
from assistant.config import Settings
from assistant.conflicts import conflict_sentence, find_conflicts
from assistant.partial import answers_question, uncovered_parts, uncovered_sentence
from assistant.types import Citation, Hit

MAX_CONFLICTS = 2  # disagreements named in one answer

REASONS = ("no_passages", "model", "unsupported", "off_point")
"""Why an answer abstained; see the module docstring."""


@dataclass
class Review:
    """What the reader is shown for one raw answer."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    reason: str | None = None
    """Why the answer abstained (one of `REASONS`), or None for an answer."""

    @property
    def abstained(self) -> bool:
        return self.reason is not None


def review_answer(
    raw: str,
    *,
    question: str,
    hits: Sequence[Hit],
    evidence: Sequence[Hit],
    relevant: bool,
    settings: Settings,
    embed: Callable[[list[str]], np.ndarray],
    article_text: Callable[[str], str] | None = None,
) -> Review:
    """Turn the model's raw text into the answer a reader sees.

    Args:
        raw: The model's answer with its `[n]` markers.
        question: The standalone question.
        hits: The retrieved passages.
        evidence: What the model was shown, numbered from 1 (sentences of `hits`, or `hits`).
        relevant: Whether retrieval passed the relevance gate (else the model was not asked).
        settings: `verify`, `question_aware`, `answer_check` (with its `_share` and
            `_scope`), `conflicts`.
        embed: The embedder, for citation support.
        article_text: The whole text of a stored article by id ("" when it is gone), for the
            answer check's `articles` scope; without it that scope reads the passages.
    """
    if not relevant:
        return Review(abstention_text(), reason="no_passages")
    if not raw.strip() or is_abstention(raw):
        return Review(abstention_text(), reason="model")
    if not settings.verify:
        # unchecked: the model's answer and markers as they are (ablation only)
        text, citations = unverified_citations(raw, list(evidence))
        return Review(text, list(citations))
    verified = verify_citations(
        raw,
        list(evidence),
        embed,
        question=question if settings.question_aware else None,
        headlines=settings.headline_support,
    )
    unsupported = list(verified.unsupported)
    if not verified.citations:
        # nothing the model said is backed by a passage: do not present it as an answer
        return Review(abstention_text(), [], unsupported or [raw.strip()], reason="unsupported")
    text, citations = verified.text, list(verified.citations)
    supported = [c.text for c in parse_markers(text) if c.markers]
    scope = settings.answer_check_scope
    passages = hits if scope != "evidence" else ()
    whole = article_text if scope == "articles" else None
    if settings.answer_check and not answers_question(
        question,
        supported,
        cited_sources(citations, passages, evidence, whole),
        share=settings.answer_check_share,
    ):
        # true, cited, and beside the point: say so, and say what they do report
        text = f"{abstention_text()} What they do report: {text}"
        return Review(text, citations, unsupported, reason="off_point")
    if settings.conflicts:
        text = surface_conflicts(text, citations, list(evidence))
    uncovered = uncovered_parts(question, supported)
    if uncovered and not says_unanswered(text):
        text = f"{text.rstrip()} {uncovered_sentence(uncovered)}"
    return Review(text, citations, unsupported, uncovered)


def cited_sources(
    citations: Sequence[Citation],
    hits: Sequence[Hit],
    evidence: Sequence[Hit],
    article_text: Callable[[str], str] | None = None,
) -> list[str]:
    """Titles and texts of the cited articles: what the answer check reads.

    The whole retrieved passages of each cited article are read, not only the sentences the
    model was shown: evidence selection keeps the sentences nearest the question's answer,
    and the words that tie a passage to the question's subject are often in the sentence
    before. With `article_text`, each cited article is read whole: a news quiz question
    ("Which island nation plunged into chaos, prompting its leader to flee?") is written from
    the whole story, and the passage that answers it ("Sri Lanka has plunged into chaos and
    its president has fled") need not hold the rest of its words.
    """
    cited = list(dict.fromkeys(c.article_id for c in citations))
    titles = {h.chunk.article_id: h.title for h in evidence if h.chunk.article_id in cited}
    texts = [h.chunk.text for h in (*hits, *evidence) if h.chunk.article_id in cited]
    whole = [article_text(aid) for aid in cited] if article_text is not None else []
    return [*titles.values(), *texts, *whole]


def surface_conflicts(text: str, citations: list[Citation], evidence: list[Hit]) -> str:
    """Append a sentence citing each source that contradicts a cited quote (adds citations)."""
    for conflict in find_conflicts(citations, evidence)[:MAX_CONFLICTS]:
        n = len(citations) + 1
        citations.append(cite(n, conflict.hit, conflict.start, conflict.end, 1.0))
        text = f"{text.rstrip()} {conflict_sentence(conflict, n)}"
    return text
