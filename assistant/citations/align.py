"""Alignment: the sentence, or pair of adjacent sentences, of a passage that best supports a claim.

The lexical support of `support` is optionally blended with embedding cosine when an `Embed`
callable is given:

    combined = (LEXICAL_WEIGHT * share + EMBED_WEIGHT * max(cosine, 0)) * penalty

Offsets are into the passage text, whitespace trimmed, so a quote is always an exact slice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.chunking import sentence_spans
from assistant.citations.support import support_parts
from assistant.text import Profile, profile

Embed = Callable[[list[str]], np.ndarray]
"""Embeds texts; returns one L2-normalised row per text."""

LEXICAL_WEIGHT = 0.6
"""Weight of the lexical share when an embedding is blended in."""
EMBED_WEIGHT = 0.4
"""Weight of the embedding cosine when an embedding is blended in."""
PAIR_PENALTY = 0.05
"""Ranking handicap of a two-sentence span: one sentence wins unless the pair is clearly better."""


@dataclass(frozen=True)
class Span:
    """A chosen quote: offsets into passage `index` and its support score."""

    start: int
    end: int
    score: float
    index: int = 0


def align_quote(claim: str, passage: str, embed: Embed | None = None) -> tuple[int, int, float]:
    """Find the span of `passage` that best supports `claim`.

    Candidates are each sentence of the passage and each pair of adjacent sentences. A
    candidate's score is `support_score`; with `embed` it is
    `(LEXICAL_WEIGHT * share + EMBED_WEIGHT * max(cosine, 0)) * penalty`, the penalty for
    missing numbers and names being the same as in `support_score`. A pair must beat the best
    single sentence by more than `PAIR_PENALTY` to be chosen. Only candidates that could still
    win given their lexical score are embedded.

    Args:
        claim: One answer sentence, markers removed.
        passage: The passage text to quote from.
        embed: Optional embedding function (rows L2-normalised).

    Returns:
        `(start, end, score)` with `passage[start:end]` the quote, whitespace trimmed;
        `(0, 0, 0.0)` when the passage has no text.
    """
    picked = pick_span(claim, [passage], candidate_spans([passage]), embed)
    if picked is None:
        return 0, 0, 0.0
    return picked.start, picked.end, picked.score


@dataclass(frozen=True)
class Candidate:
    """A span of one sentence or two adjacent sentences of passage `index`."""

    index: int
    start: int
    end: int
    pair: bool


def candidate_spans(passages: Sequence[str]) -> list[Candidate]:
    """Single sentences, then adjacent pairs, of each passage; whitespace-trimmed."""
    out: list[Candidate] = []
    for index, passage in enumerate(passages):
        singles = []
        for s, e in sentence_spans(passage):
            s, e = _trim(passage, s, e)
            if e > s:
                singles.append((s, e))
        out.extend(Candidate(index, s, e, False) for s, e in singles)
        out.extend(
            Candidate(index, singles[i][0], singles[i + 1][1], True)
            for i in range(len(singles) - 1)
        )
    return out


def pick_span(
    claim: str,
    passages: Sequence[str],
    candidates: Sequence[Candidate],
    embed: Embed | None,
    floor: float = 0.0,
    asked: Profile | None = None,
    headlines: Sequence[str] | None = None,
) -> Span | None:
    """The best candidate for `claim` (its passage index is `candidates[i].index`).

    With `embed`, a candidate is embedded only if its best possible blended score (cosine 1)
    could beat every other candidate's worst (cosine 0) and reach `floor`; the others keep their
    worst, so a winner below `floor` may carry an understated score.

    With `headlines` (one per passage, "" for none), a candidate is read under its article's
    headline: a news headline often names what the body only refers to ("'Squid Game': Netflix
    green lights season 2" over "the wildly popular South Korean show is green lit for a second
    season"), and the reader of a citation sees the headline above the quote.
    """
    if not candidates:
        return None
    claimed = profile(claim)
    contexts: dict[int, Profile] = {}
    if asked is not None:
        contexts = {i: profile(passages[i]) for i in {c.index for c in candidates}}
    heads = {i: profile(headlines[i]) for i in {c.index for c in candidates}} if headlines else {}
    parts = [
        support_parts(
            claimed,
            _under(profile(passages[c.index][c.start : c.end]), heads.get(c.index)),
            asked,
            contexts.get(c.index),
        )
        for c in candidates
    ]
    handicaps = [PAIR_PENALTY if c.pair else 0.0 for c in candidates]
    if embed is None:
        scores = [share * penalty for share, penalty in parts]
    else:
        scores = [LEXICAL_WEIGHT * share * penalty for share, penalty in parts]
        uppers = [(LEXICAL_WEIGHT * share + EMBED_WEIGHT) * penalty for share, penalty in parts]
        bar = max(score - h for score, h in zip(scores, handicaps, strict=True))
        todo = [
            i
            for i, (upper, h) in enumerate(zip(uppers, handicaps, strict=True))
            if upper - h >= bar and upper >= floor
        ]
        if todo:
            texts = [claim] + [
                passages[candidates[i].index][candidates[i].start : candidates[i].end] for i in todo
            ]
            vectors = np.asarray(embed(texts), dtype=float)
            for row, i in enumerate(todo, start=1):
                cosine = max(float(vectors[row] @ vectors[0]), 0.0)
                share, penalty = parts[i]
                scores[i] = (LEXICAL_WEIGHT * share + EMBED_WEIGHT * cosine) * penalty
    # max() keeps the first of equals: a single sentence before the pairs holding it.
    best = max(range(len(candidates)), key=lambda i: scores[i] - handicaps[i])
    c = candidates[best]
    return Span(c.start, c.end, min(max(scores[best], 0.0), 1.0), c.index)


def _under(quote: Profile, headline: Profile | None) -> Profile:
    """The quote's profile read together with its article's headline."""
    if headline is None:
        return quote
    return Profile(
        quote.words | headline.words,
        quote.numbers | headline.numbers,
        quote.names | headline.names,
        quote.places | headline.places,
    )


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
