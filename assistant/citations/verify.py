"""The pipeline step: turn the model's raw answer into clean text and citations that hold.

Every marker is checked: a citation is kept only when a sentence (or two adjacent sentences) of
the cited passage supports the claim (`align`, `support`), and a claim whose marker is wrong is
re-cited to the passage that does support it, if any.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assistant.citations.abstention import abstains
from assistant.citations.align import Candidate, Embed, Span, candidate_spans, pick_span
from assistant.citations.markers import (
    Piece,
    collapse_repeats,
    dedupe,
    parse_markers,
    split_pieces,
    tidy,
    with_markers,
)
from assistant.citations.support import is_filler, support_parts
from assistant.text import Profile, profile
from assistant.types import Citation, Hit

SUPPORT_THRESHOLD = 0.5
"""Least combined score for a cited passage to count as supporting its claim."""
RECITE_THRESHOLD = 0.65
"""Least score to attach a passage the model did not cite (stricter: we are guessing for it)."""
JOINT_MIN_SHARE = 0.25
"""Least lexical share (numbers unpenalised) each of several cited passages needs to be kept
for a claim they support only jointly."""

_DATELINE_RE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:,?\s+(?:1[89]|20)\d\d)?\b|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*\.?(?:,?\s+(?:1[89]|20)\d\d)?\b",
    re.IGNORECASE,
)
"""A calendar date ("Jul 27, 2021", "5 May 2020"): in a headline, the day it ran, not a fact."""
_CLOSING_PAREN_RE = re.compile(r"\s*\(([^()]{1,80})\)\s*([.!?]?)\Z")

_Outcome = Literal["cited", "recited", "unsupported"]


@dataclass(frozen=True)
class Verified:
    """An answer after verification.

    Attributes:
        text: The answer with markers renumbered to `citations` (1..m, first appearance order).
        citations: The kept citations; each quote supports the sentences citing its number.
        unsupported: Claim sentences no passage supports (kept in `text`, without a marker).
        recited: Citations attached by alignment to a passage the model did not cite.
    """

    text: str
    citations: list[Citation]
    unsupported: list[str]
    recited: int


def verify_citations(
    answer_text: str,
    hits: Sequence[Hit],
    embed: Embed | None = None,
    *,
    threshold: float = SUPPORT_THRESHOLD,
    question: str | None = None,
    headlines: bool = False,
) -> Verified:
    """Turn the model's raw answer into clean text plus citations that really support it.

    For each claim sentence, each cited passage is aligned with `align_quote` and kept when its
    score reaches `threshold`; several cited passages that each fall short are kept together
    when their quotes jointly reach it. A claim with no marker, or none that holds, is aligned
    against every hit and re-cited to the best span if it reaches the stricter
    `max(threshold, RECITE_THRESHOLD)`. Claims nothing supports are listed in `unsupported`
    and kept in the text without a marker. Filler sentences (fewer than `MIN_CONTENT_WORDS`
    content words, no numbers) and sentences saying the articles lack the answer need no
    citation, though a cited one keeps a citation that holds. Citations are numbered 1..m in
    order of first appearance; claims quoting the same span share a number. A run of words the
    model repeated (a small model at temperature 0 can loop until its token limit) is kept once.

    Args:
        answer_text: The model's raw answer with `[n]` markers for `hits` numbered from 1.
        hits: The passages the prompt numbered, in order.
        embed: Optional embedding function blended into the support score.
        threshold: Least score for a cited passage to be kept.
        question: The question answered; a claim is then judged on what it adds to it (see
            `support_score`), and a sentence that only restates it is unsupported.

    Returns:
        The verified answer.
    """
    pieces = split_pieces(collapse_repeats(answer_text), len(hits))
    headers = [_header(hit) for hit in hits]
    pieces = _drop_trailing_source_list(pieces, headers)
    passages = [hit.chunk.text for hit in hits]
    check = _Check(
        passages=passages,
        candidates=candidate_spans(passages),
        embed=_memoised(embed) if embed is not None else None,
        threshold=threshold,
        recite_threshold=max(threshold, RECITE_THRESHOLD),
        asked=profile(question) if question else None,
        headlines=[_headline(hit) for hit in hits] if headlines else None,
    )
    numbering = _Numbering(hits)
    unsupported: list[str] = []
    recited = 0
    parts: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        piece = _drop_source_name(piece, headers)
        if piece.text.lower() in seen:
            continue  # the model said it already
        seen.add(piece.text.lower())
        cited, outcome = _support_for(piece, check)
        if outcome == "recited":
            recited += 1
        elif outcome == "unsupported":
            unsupported.append(piece.text)
        numbers = numbering.number(cited)
        parts.append(piece.prefix + with_markers(piece.text, numbers) + piece.separator)
    return Verified(
        text="".join(parts).strip(),
        citations=numbering.citations(),
        unsupported=unsupported,
        recited=recited,
    )


@dataclass(frozen=True)
class _Check:
    """What checking one answer's claims against its passages needs, built once per answer."""

    passages: list[str]
    candidates: list[Candidate]
    embed: Embed | None
    threshold: float
    recite_threshold: float
    asked: Profile | None
    headlines: list[str] | None = None


def _headline(hit: Hit) -> str:
    return headline(hit.title)


def headline(title: str | None) -> str:
    """The headline a quote is read under: the title less any calendar date in it.

    A snippet's title is often its dateline ("Jul 27, 2021 ..."), the day it ran, which must
    not lend a claim about another time its year.
    """
    return " ".join(_DATELINE_RE.sub(" ", title or "").split()).strip(" .,:;|–—-…")


def under_headline(citation: Citation) -> str:
    """What a reader of `citation` checks it against: its article's headline, then its quote."""
    head = headline(citation.title)
    return f"{head}\n{citation.quote}" if head else citation.quote


def _header(hit: Hit) -> Profile:
    """The profile of a source's title, outlet and date, to spot the model citing by name."""
    return profile(
        " ".join(x for x in (hit.title, hit.source or "", str(hit.published or "")) if x)
    )


def _support_for(piece: Piece, check: _Check) -> tuple[list[Span], _Outcome]:
    """The spans that support one claim, and whether they were cited, re-cited or not found.

    A claim that needs no citation keeps the cited spans that hold ("cited", maybe none).
    """
    if _needs_citation(piece.text):
        cited = _check_markers(piece, check)
        if cited:
            return cited, "cited"
        found = pick_span(
            piece.text,
            check.passages,
            check.candidates,
            check.embed,
            check.recite_threshold,
            check.asked,
            check.headlines,
        )
        if found is not None and found.score >= check.recite_threshold:
            return [found], "recited"
        return [], "unsupported"
    if piece.markers and not abstains(piece.text):
        # A short item ("[2] Japan") needs no citation but may keep one that holds.
        return _check_markers(piece, check), "cited"
    return [], "cited"


class _Numbering:
    """Citation numbers 1..m in order of first appearance; claims quoting one span share one.

    A span quoted twice keeps the citation with the higher score.
    """

    def __init__(self, hits: Sequence[Hit]) -> None:
        self._hits = hits
        self._numbers: dict[tuple[str, int, int], int] = {}
        self._citations: dict[int, Citation] = {}

    def number(self, spans: Sequence[Span]) -> list[int]:
        """The numbers of `spans` (new ones numbered next), each once, in order."""
        numbers: list[int] = []
        for span in spans:
            hit = self._hits[span.index]
            key = (hit.chunk.article_id, hit.chunk.start + span.start, hit.chunk.start + span.end)
            n = self._numbers.setdefault(key, len(self._numbers) + 1)
            previous = self._citations.get(n)
            if previous is None or previous.score < span.score:
                self._citations[n] = _citation(n, hit, span)
            if n not in numbers:
                numbers.append(n)
        return numbers

    def citations(self) -> list[Citation]:
        """The citations numbered so far, by number."""
        return [self._citations[n] for n in sorted(self._citations)]


def _needs_citation(text: str) -> bool:
    return not is_filler(text) and not abstains(text)


def _check_markers(piece: Piece, check: _Check) -> list[Span]:
    """The cited passages that support the claim, alone or jointly."""
    passages, threshold, asked = check.passages, check.threshold, check.asked
    aligned: list[Span] = []
    for n in piece.markers:
        own = [c for c in check.candidates if c.index == n - 1]
        span = pick_span(piece.text, passages, own, check.embed, threshold, asked, check.headlines)
        if span is not None:
            aligned.append(span)
    kept = [span for span in aligned if span.score >= threshold]
    if kept or len(aligned) < 2:
        return kept
    # A sentence joining two facts ("... 100% tariff [1] and an $8.5 billion pact [2].") is
    # supported by its passages together though by neither alone.
    claim = profile(piece.text)
    helpers = [
        span
        for span in aligned
        if support_parts(claim, profile(_quote(passages, span)), asked)[0] >= JOINT_MIN_SHARE
    ]
    if len(helpers) < 2:
        return []
    share, penalty = support_parts(
        claim, profile(" ".join(_quote(passages, span) for span in helpers)), asked
    )
    joint = share * penalty
    if joint < threshold:
        return []
    return [Span(span.start, span.end, joint, span.index) for span in helpers]


def _quote(passages: Sequence[str], span: Span) -> str:
    return passages[span.index][span.start : span.end]


def _citation(n: int, hit: Hit, span: Span) -> Citation:
    return cite(n, hit, span.start, span.end, span.score)


def cite(n: int, hit: Hit, start: int, end: int, score: float) -> Citation:
    """Citation number `n` of `hit.chunk.text[start:end]`, with offsets into the article."""
    chunk = hit.chunk
    span = Span(start, end, score)
    return Citation(
        n=n,
        article_id=chunk.article_id,
        title=hit.title,
        source=hit.source,
        published=hit.published,
        url=hit.url,
        chunk_id=chunk.id,
        quote=chunk.text[span.start : span.end],
        start=chunk.start + span.start,
        end=chunk.start + span.end,
        score=round(span.score, 4),
        also_in=hit.also_in,
    )


def _drop_source_name(piece: Piece, headers: list[Profile]) -> Piece:
    """Drop a closing "(Bloomberg)" or "(Bloomberg, 2025-10-24)": the model citing by name."""
    m = _CLOSING_PAREN_RE.search(piece.text)
    if not m:
        return piece
    named = profile(m.group(1))
    if not named.words and not named.numbers:
        return piece
    if not any(support_parts(named, header)[0] == 1.0 for header in headers):
        return piece
    text = piece.text[: m.start()].rstrip() + m.group(2)
    return Piece(piece.prefix, text, piece.markers, piece.separator) if text.strip() else piece


def _drop_trailing_source_list(pieces: list[Piece], headers: list[Profile]) -> list[Piece]:
    """Drop a headerless list of source titles the model appended after its answer."""
    end = len(pieces)
    # Only whole lines after the answer count as a list: a last sentence may echo a title.
    while end > 1 and "\n" in pieces[end - 2].separator:
        claim = profile(pieces[end - 1].text)
        total = len(claim.words) + len(claim.numbers)
        if total == 0 or not any(
            support_parts(claim, header)[0] >= 0.8 and header.words for header in headers
        ):
            break
        end -= 1
    if end == len(pieces) or end == 0:
        return pieces
    kept = pieces[:end]
    last = kept[-1]
    kept[-1] = Piece(last.prefix, last.text, last.markers, "")
    return kept


def _memoised(embed: Embed) -> Embed:
    """Wrap `embed` with a cache for one verification, so each claim is embedded once."""
    cache: dict[str, np.ndarray] = {}

    def lookup(texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            rows = np.asarray(embed(missing), dtype=float)
            cache.update(zip(missing, rows, strict=True))
        return np.stack([cache[t] for t in texts])

    return lookup


def unverified_citations(answer_text: str, hits: Sequence[Hit]) -> tuple[str, list[Citation]]:
    """The model's own markers as citations, unchecked: each cites its whole passage.

    Only for measuring what verification adds (`Settings.verify` off); markers are renumbered
    1..m in order of first appearance and numbers beyond the sources are dropped.
    """
    claims = parse_markers(answer_text, max_n=len(hits))
    order: dict[int, int] = {}
    parts: list[str] = []
    for claim in claims:
        numbers = [order.setdefault(n, len(order) + 1) for n in claim.markers]
        parts.append(with_markers(claim.text, list(dedupe(numbers))))
    citations = []
    for n_model, n in order.items():
        hit = hits[n_model - 1]
        span = Span(index=n_model - 1, start=0, end=len(hit.chunk.text), score=0.0)
        citations.append(_citation(n, hit, span))
    return tidy(" ".join(p for p in parts if p.strip())), citations
