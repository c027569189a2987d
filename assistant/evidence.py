"""Evidence selection: the few sentences of the retrieved passages that bear on the question.

Small models read a short context far better than a long one, and a local model's answer time
is mostly prompt processing. So instead of whole ~600-character chunks, the model gets the
handful of sentences that matter, each run of neighbouring sentences as one numbered source.
A sentence is scored by

    cosine(question, sentence) + LEXICAL_WEIGHT * share of the question's content words it has
    + KIND_WEIGHT * (it holds the kind of answer the question asks for: a date, number or name)
    + RANK_WEIGHT / (rank of its passage + 1)

and the best `max_sentences` are kept (at most `PER_PASSAGE` from one passage), each with the
sentence before it when it opens with a word that points back ("He", "The company", "It").
A selected run is a `Hit` whose chunk is the sub-span of its passage, so a citation's offsets
still point into the article text and the reader can check them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.chunking import sentence_spans
from assistant.citations import Embed
from assistant.partial import answer_kind, has_kind
from assistant.text import content_words, word_found
from assistant.types import Hit

LEXICAL_WEIGHT = 0.35
"""Weight of the share of the question's content words found in a sentence."""
KIND_WEIGHT = 0.1
"""Bonus of a sentence holding the kind of answer the question asks for."""
RANK_WEIGHT = 0.1
"""Prior of a sentence from a better-ranked passage (divided by the passage's rank + 1)."""
PER_PASSAGE = 3
"""Most sentences selected from one passage (other passages get the remaining slots)."""
MIN_SENTENCE_CHARS = 25
"""Shorter sentences (bylines, captions, "Read more") are never selected on their own."""

# A sentence that opens with one of these words leans on the one before it.
_POINTS_BACK = re.compile(
    r"^(?:he|she|it|they|his|her|its|their|this|that|these|those|there|the (?:company|country|"
    r"government|group|move|deal|decision|report|official|president|minister|agency|court|"
    r"city|state|team|bill|law|plan|ban|attack|storm|fire|virus)|but|and|also|however|still|"
    r"meanwhile|instead|then)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sentence:
    """One candidate sentence: its passage, its span in the passage text, its score."""

    hit: int
    start: int
    end: int
    score: float


def score_sentences(question: str, hits: Sequence[Hit], embed: Embed) -> list[Sentence]:
    """Every sentence of every passage, scored against the question (in passage order)."""
    spans: list[tuple[int, int, int]] = []
    for i, hit in enumerate(hits):
        text = hit.chunk.text
        for start, end in sentence_spans(text) or [(0, len(text))]:
            spans.append((i, start, end))
    if not spans:
        return []
    texts = [hits[i].chunk.text[s:e] for i, s, e in spans]
    vectors = np.asarray(embed([question, *texts]))
    cosines = vectors[1:] @ vectors[0]
    asked = content_words(question)
    kind = answer_kind(question)
    scored = []
    for (i, s, e), text, cos in zip(spans, texts, cosines, strict=True):
        words = content_words(text)
        share = sum(word_found(w, words) for w in asked) / len(asked) if asked else 0.0
        bonus = KIND_WEIGHT if kind and has_kind(kind, text, question) else 0.0
        score = float(cos) + LEXICAL_WEIGHT * share + bonus + RANK_WEIGHT / (i + 1)
        if len(text) < MIN_SENTENCE_CHARS:
            score -= 1.0
        scored.append(Sentence(i, s, e, score))
    return scored


def select_evidence(
    question: str,
    hits: Sequence[Hit],
    embed: Embed,
    *,
    max_sentences: int = 6,
    max_chars: int = 1600,
) -> list[Hit]:
    """The sentences of `hits` that bear on `question`, as numbered-source hits, best first.

    Args:
        question: The standalone question.
        hits: Retrieved passages, best first.
        embed: Embeds texts into unit vectors (the store's embedding model).
        max_sentences: Most sentences selected (their leading neighbours come on top).
        max_chars: Most characters of selected text in all.

    Returns:
        One hit per run of adjacent selected sentences of a passage; its chunk is that span of
        the passage (offsets into the article), its score the best sentence score of the run.
        Empty when `hits` is.
    """
    scored = score_sentences(question, hits, embed)
    chosen: set[int] = set()
    per_hit: dict[int, int] = {}
    picked = used = 0
    for n in sorted(range(len(scored)), key=lambda n: -scored[n].score):
        s = scored[n]
        if picked >= max_sentences:
            break
        if per_hit.get(s.hit, 0) >= PER_PASSAGE or n in chosen:
            continue
        adds = [n]
        leans = _POINTS_BACK.match(hits[s.hit].chunk.text[s.start : s.end])
        if leans and n > 0 and scored[n - 1].hit == s.hit:
            adds.insert(0, n - 1)
        size = sum(scored[m].end - scored[m].start for m in adds if m not in chosen)
        if chosen and used + size > max_chars:
            continue
        chosen.update(adds)
        used += size
        picked += 1
        per_hit[s.hit] = per_hit.get(s.hit, 0) + 1
    return _runs(sorted(chosen), scored, hits)


def _runs(chosen: list[int], scored: list[Sentence], hits: Sequence[Hit]) -> list[Hit]:
    runs: list[list[int]] = []
    for n in chosen:
        if runs and runs[-1][-1] == n - 1 and scored[n - 1].hit == scored[n].hit:
            runs[-1].append(n)
        else:
            runs.append([n])
    out: list[tuple[float, Hit]] = []
    for run in runs:
        first, last = scored[run[0]], scored[run[-1]]
        hit = hits[first.hit]
        chunk = hit.chunk
        text = chunk.text[first.start : last.end]
        sub = chunk.model_copy(
            update={"text": text, "start": chunk.start + first.start, "end": chunk.start + last.end}
        )
        best = max(scored[n].score for n in run)
        out.append((best, hit.model_copy(update={"chunk": sub})))
    out.sort(key=lambda pair: -pair[0])
    return [hit for _, hit in out]
