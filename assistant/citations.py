"""Pure text functions for citations: number sources, parse markers, align and verify quotes.

The chain numbers the retrieved passages [1]..[k], asks the model to end each sentence with the
number of its source, and hands the raw reply to `verify_citations`. A small local model is
sloppy: it forgets markers, cites the wrong number, writes `[1,2]`, `[1][2]`, `(1)`,
`[Source 1]` or `【1】`, or appends a sources list. So every marker is checked: a citation is kept
only when a sentence (or two adjacent sentences) of the cited passage supports the claim, and a
claim whose marker is wrong is re-cited to the passage that does support it, if any.

Support is lexical (share of the claim's content words found in the passage span; numbers must
match), optionally blended with embedding cosine when an `Embed` callable is given:

    combined = (LEXICAL_WEIGHT * word_share + EMBED_WEIGHT * max(cosine, 0)) * penalty

where `penalty = NUMBER_PENALTY ** (numbers of the claim missing from the span)
* NAME_PENALTY ** (capitalised names of the claim missing from it)`, so a wrong figure or a
wrong country sinks a claim however similar it sounds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.chunking import sentence_spans
from assistant.text import Profile, number_found, profile, word_found

# Kept here for the callers that import them from `citations`; they live in `assistant.text`.
from assistant.text import content_words as content_words
from assistant.text import light_stem as stem  # noqa: F401
from assistant.text import name_words as name_words
from assistant.text import number_keys as number_keys
from assistant.types import Citation, Hit

Embed = Callable[[list[str]], np.ndarray]
"""Embeds texts; returns one L2-normalised row per text."""

# --- scoring constants ---------------------------------------------------------------------
SUPPORT_THRESHOLD = 0.5
"""Least combined score for a cited passage to count as supporting its claim."""
RECITE_THRESHOLD = 0.65
"""Least score to attach a passage the model did not cite (stricter: we are guessing for it)."""
LEXICAL_WEIGHT = 0.6
"""Weight of the lexical share when an embedding is blended in."""
EMBED_WEIGHT = 0.4
"""Weight of the embedding cosine when an embedding is blended in."""
NUMBER_PENALTY = 0.25
"""Factor applied per number of the claim that the passage span does not contain."""
NAME_PENALTY = 0.5
"""Factor applied per capitalised name of the claim (after its first word) the span lacks."""
PAIR_PENALTY = 0.05
"""Ranking handicap of a two-sentence span: one sentence wins unless the pair is clearly better."""
JOINT_MIN_SHARE = 0.25
"""Least lexical share (numbers unpenalised) each of several cited passages needs to be kept
for a claim they support only jointly."""
MIN_CONTENT_WORDS = 3
"""Sentences with fewer content words (and no numbers) are filler and need no citation."""
MAX_MARKER = 99
"""Largest number read as a citation marker (so `[2022]` stays text)."""
BARE_PAREN_MAX = 20
"""Largest number read from a bare `(n)` marker when the number of sources is unknown."""

ABSTENTION_TEXT = "The articles do not say."

ABSTENTION_PHRASES: tuple[str, ...] = (
    "the articles do not say",
    "the articles don't say",
    "the sources do not say",
    "the sources don't say",
    "do not mention",
    "does not mention",
    "don't mention",
    "doesn't mention",
    "not mentioned in",
    "no mention of",
    "there is no mention",
    "not specified in",
    "does not specify",
    "do not specify",
    "does not provide",
    "do not provide",
    "doesn't provide",
    "don't provide",
    "not provided in",
    "does not contain",
    "do not contain",
    "doesn't contain",
    "no information",
    "not enough information",
    "insufficient information",
    "no relevant information",
    "cannot answer",
    "can't answer",
    "cannot be answered",
    "cannot be determined",
    "cannot determine",
    "can't determine",
    "not possible to determine",
    "cannot find",
    "can't find",
    "could not find",
    "couldn't find",
    "unable to answer",
    "unable to find",
    "unable to determine",
    "unable to provide",
    "i am unable to",
    "i'm unable to",
    "i don't know",
    "i do not know",
    "i do not have",
    "i don't have",
    "can't assist",
    "cannot assist",
    "not clear from the",
    "not available in the",
    "not stated in",
)
"""Lower-case phrases by which a model says it cannot answer (matched as substrings)."""

# --- marker patterns -----------------------------------------------------------------------
_NUM_LIST = (
    r"\d{1,3}(?:\s*(?:-|–|—|to)\s*\d{1,3})?"
    r"(?:\s*(?:,|;|and|&)\s*\d{1,3}(?:\s*(?:-|–|—|to)\s*\d{1,3})?)*"
)
_LABEL = (
    r"(?:sources?|passages?|articles?|docs?|documents?|refs?|references?|citations?)"
    r"\s*(?:no\.?|number|#)?\s*:?\s*"
)
_MARKER_RE = re.compile(
    rf"\[\s*\^?(?:{_LABEL})?(?P<bracket>{_NUM_LIST})\s*\]"
    rf"|【\s*(?:{_LABEL})?(?P<lenticular>{_NUM_LIST})\s*】"
    rf"|\(\s*{_LABEL}(?P<labelled>{_NUM_LIST})\s*\)"
    # A bare "(1)" is a marker only where a sentence, clause or another marker follows;
    # elsewhere it is an enumeration or a figure in the text.
    rf"|\(\s*(?P<bare>{_NUM_LIST})\s*\)(?=[ \t]*(?:[.!?;:,\n\[【(]|$))",
    re.IGNORECASE,
)
_RANGE_RE = re.compile(r"(\d+)\s*(?:-|–|—|to)\s*(\d+)", re.IGNORECASE)
_INT_RE = re.compile(r"\d+")
_MAX_RANGE = 20
_MIN_REPEAT = 4  # words in the shortest block whose back-to-back repeats are collapsed

_SOURCES_SECTION_RE = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?(?:\*\*|__)?[ \t]*"
    r"(?:sources?|references?|citations?|bibliography|works cited)"
    r"[ \t]*(?:\*\*|__)?[ \t]*(?::|$)",
    re.IGNORECASE | re.MULTILINE,
)
# A marker the token limit cut off: "... Lee Jae Myung [" or "... 100% tariff [1,".
_OPEN_MARKER_RE = re.compile(
    rf"[ \t]*(?:[\[【]|\((?=\s*(?:{_LABEL})?\d))\s*\^?(?:{_LABEL})?[\d,\s\-–]*\Z",
    re.IGNORECASE,
)
_ANSWER_LABEL_RE = re.compile(r"^\s*(?:\*\*)?answer(?:\*\*)?\s*:\s*(?:\*\*)?", re.IGNORECASE)
_BULLET_RE = re.compile(r"^[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+")
_EMPTY_LABEL_RE = re.compile(rf"\(\s*(?:{_LABEL})?\s*\)|\[\s*(?:{_LABEL})?\s*\]", re.IGNORECASE)
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+([.,;:!?)\]])")
_SPACE_AFTER_OPEN_RE = re.compile(r"([(\[])[ \t]+")
_SPACES_RE = re.compile(r"[ \t]+")
_TERMINAL_RE = re.compile(r"[.!?]+$")
_FORGED_RE = re.compile(
    r"\[\s*\^?((?:[^\]\n]{0,20}?)\d{1,3}[^\]\n]{0,20}?)\s*\]|【\s*([^】\n]{0,40}?)\s*】",
)
_SOURCES_TAG_RE = re.compile(r"<\s*/?\s*sources\s*>", re.IGNORECASE)

# --- lexical patterns ----------------------------------------------------------------------
_CLOSING_PAREN_RE = re.compile(r"\s*\(([^()]{1,80})\)\s*([.!?]?)\Z")
_CONTRAST_RE = re.compile(r",\s*but\b|;\s*but\b|\bbut\b|\bhowever\b|\balthough\b|\bthough\b")


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer: its text without markers and the source numbers it cites."""

    text: str
    markers: tuple[int, ...]


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


@dataclass(frozen=True)
class _Piece:
    """A claim plus what surrounds it in the answer, so the layout can be rebuilt."""

    prefix: str
    text: str
    markers: tuple[int, ...]
    separator: str


@dataclass(frozen=True)
class _Span:
    """A chosen quote: offsets into passage `index` and its support score."""

    start: int
    end: int
    score: float
    index: int = 0


# --- sources block -------------------------------------------------------------------------


def number_sources(hits: Sequence[Hit]) -> str:
    """Format retrieved passages as the numbered sources block of the prompt.

    Each source reads `[n] <title> (<source>, <published>)` followed by its passage text, and
    sources are separated by a blank line. Passage text is data: anything in it that looks like
    our own citation markers (`[3]`, `【3】`) becomes `(3)`, and `<sources>` tags are defused, so
    an article cannot forge a citation or close the sources block.

    Args:
        hits: The passages in the order they are numbered, from 1.

    Returns:
        The sources block (empty string when there are no hits).
    """
    blocks = []
    for n, hit in enumerate(hits, start=1):
        title = _neutralise(hit.title.strip() or hit.chunk.article_id).replace("\n", " ")
        meta = [m for m in (hit.source, hit.published.isoformat() if hit.published else None) if m]
        header = f"[{n}] {title}" + (f" ({_neutralise(', '.join(meta))})" if meta else "")
        blocks.append(f"{header}\n{_neutralise(hit.chunk.text.strip())}")
    return "\n\n".join(blocks)


def _neutralise(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        return f"({inner.strip()})"

    # A marker nested in another ("【[6]】", "[【6】]") survives one pass, so repeat until
    # stable; every pass that changes the text turns brackets into parentheses, so this ends.
    while True:
        defused = _SOURCES_TAG_RE.sub("(sources)", _FORGED_RE.sub(repl, text))
        if defused == text:
            return text
        text = defused


# --- markers -------------------------------------------------------------------------------


def parse_markers(text: str, *, max_n: int | None = None) -> list[Claim]:
    """Split an answer into sentences and the citation markers each one carries.

    Markers attach to the sentence they end (`... Nov. 1 [1].` and `... Nov. 1. [1]` both cite
    1 for that sentence); a marker opening a line labels the sentence after it. Recognised
    forms: `[1]`, `[1, 2]`, `[1][2]`, `[1-3]`, `[Source 1]`, `【1】`, `(Source 1)` and a bare
    `(1)` before punctuation or the end of the text. A trailing `Sources:` / `References:`
    section is ignored.

    Args:
        text: The model's raw answer.
        max_n: Number of sources; larger marker numbers are dropped from `markers` (their
            text is still removed) and bare `(n)` above it stays text.

    Returns:
        One `Claim` per non-empty sentence, markers in order of appearance, deduplicated.
    """
    return [Claim(p.text, p.markers) for p in _split_pieces(text, max_n)]


def strip_markers(text: str, *, max_n: int | None = None) -> str:
    """Remove citation markers and a trailing sources section; tidy the spaces left behind.

    Args:
        text: Answer text, possibly partial (e.g. while streaming).
        max_n: Number of sources, bounding which bare `(n)` count as markers.

    Returns:
        The text without markers; line breaks are kept.
    """
    # Removing one marker can join the pieces of another ("[[1]1]"), so repeat until stable;
    # every round that changes the text makes it shorter, so this ends.
    while True:
        tidied = _drop_sources_section(text)
        tidied = _MARKER_RE.sub(lambda m: _marker_replacement(m, max_n), tidied)
        tidied = _tidy_lines(_EMPTY_LABEL_RE.sub("", tidied))
        if tidied == text:
            return text.strip()
        text = tidied


def _marker_replacement(m: re.Match[str], max_n: int | None) -> str:
    return "" if _marker_numbers(m, max_n) is not None else m.group(0)


def _marker_numbers(m: re.Match[str], max_n: int | None) -> tuple[int, ...] | None:
    """The numbers a marker match cites (maybe out of range), or None if it is not a marker."""
    kind = m.lastgroup or ""
    body = m.group(kind) if kind else ""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:,|;|\band\b|&)\s*", body, flags=re.IGNORECASE):
        if not part:
            continue
        rng = _RANGE_RE.fullmatch(part.strip())
        if rng:
            lo, hi = int(rng.group(1)), int(rng.group(2))
            if not 1 <= lo <= hi or hi - lo > _MAX_RANGE:
                return None
            numbers.extend(range(lo, hi + 1))
        else:
            numbers.extend(int(x) for x in _INT_RE.findall(part))
    limit = MAX_MARKER
    if kind == "bare":
        limit = max_n if max_n is not None else BARE_PAREN_MAX
    if not numbers or any(not 1 <= x <= limit for x in numbers):
        return None
    return tuple(numbers)


def _drop_sources_section(text: str) -> str:
    """Drop an "Answer:" label, a trailing sources section and a marker cut off at the end."""
    text = _ANSWER_LABEL_RE.sub("", text, count=1)
    m = _SOURCES_SECTION_RE.search(text)
    text = text[: m.start()] if m else text
    return _OPEN_MARKER_RE.sub("", text)


def _tidy_lines(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = _SPACES_RE.sub(" ", line)
        line = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", line)
        line = _SPACE_AFTER_OPEN_RE.sub(r"\1", line)
        lines.append(line.strip())
    return "\n".join(lines)


def _tidy(text: str) -> str:
    return _tidy_lines(" ".join(text.split()))


def _split_pieces(text: str, max_n: int | None) -> list[_Piece]:
    text = _drop_sources_section(text)
    pieces: list[_Piece] = []
    for line, newline in _lines_with_breaks(text):
        bullet = _BULLET_RE.match(line)
        body = line[bullet.end() :] if bullet else line
        segments = _segments(body, max_n)
        for number, segment in enumerate(segments):
            after = newline if number == len(segments) - 1 else " "
            prefix = bullet.group(0).strip() + " " if bullet and number == 0 else ""
            _add_pieces(pieces, prefix, segment, after, max_n)
    if pieces:
        last = pieces[-1]
        pieces[-1] = _Piece(last.prefix, last.text, last.markers, "")
    return pieces


def _segments(body: str, max_n: int | None) -> list[str]:
    """Split a line the model wrote like the sources block ("[1] A [2] B") at each marker.

    A line that opens with a marker uses markers as labels of what follows them, not of the
    sentence they end. Other lines stay whole.
    """
    starts = [m.start() for m in _MARKER_RE.finditer(body) if _marker_numbers(m, max_n)]
    if not starts or body[: starts[0]].strip():
        return [body]
    bounds = [*starts[1:], len(body)]
    pieces = [body[a:b] for a, b in zip([0, *starts[1:]], bounds, strict=True)]
    merged: list[str] = []
    carry = ""
    for piece in pieces:
        piece = carry + piece
        carry = ""
        if _has_text(_remove_markers(piece, max_n)[0]):
            merged.append(piece)
        else:
            carry = piece  # "[1][2] Text": labels with no text of their own go forward
    if carry:
        if merged:
            merged[-1] += carry  # "... text [2].": a marker closing the line goes back
        else:
            merged.append(carry)
    return merged


def _has_text(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _add_pieces(
    pieces: list[_Piece], prefix: str, body: str, newline: str, max_n: int | None
) -> None:
    """Append the sentences of one line (or labelled segment) to `pieces`."""
    clean, placed = _remove_markers(body, max_n)
    spans = [(s, e) for s, e in sentence_spans(clean) if _has_text(clean[s:e])]
    if not spans:
        if placed and pieces:
            # A line of nothing but markers cites the sentence before it.
            last = pieces[-1]
            pieces[-1] = _Piece(
                last.prefix, last.text, _merge(last.markers, placed), last.separator
            )
        if pieces and newline:
            last = pieces[-1]
            pieces[-1] = _Piece(last.prefix, last.text, last.markers, last.separator + newline)
        return
    owned: list[list[tuple[int, tuple[int, ...]]]] = [[] for _ in spans]
    for pos, numbers in placed:
        index = max((i for i, (s, _) in enumerate(spans) if s < pos), default=0)
        owned[index].append((pos, numbers))
    for i, (s, e) in enumerate(spans):
        cited = _dedupe(n for _, numbers in owned[i] for n in numbers)
        if max_n is not None:
            cited = tuple(n for n in cited if n <= max_n)
        separator = " " if i < len(spans) - 1 else newline
        pieces.append(_Piece(prefix if i == 0 else "", _tidy(clean[s:e]), cited, separator))


def _lines_with_breaks(text: str) -> list[tuple[str, str]]:
    """Lines of `text`, each with the line break that follows it ("" for the last)."""
    parts = re.split(r"(\n+)", text)
    return [(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]


def _merge(markers: tuple[int, ...], placed: list[tuple[int, tuple[int, ...]]]) -> tuple[int, ...]:
    return _dedupe([*markers, *(n for _, numbers in placed for n in numbers)])


def _dedupe(numbers: Iterable[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(numbers))


def _remove_markers(line: str, max_n: int | None) -> tuple[str, list[tuple[int, tuple[int, ...]]]]:
    """Cut markers out of one line; return the clean line and (position, numbers) per marker."""
    out: list[str] = []
    placed: list[tuple[int, tuple[int, ...]]] = []
    length = 0
    cursor = 0
    for m in _MARKER_RE.finditer(line):
        numbers = _marker_numbers(m, max_n)
        if numbers is None:
            continue
        # Drop the space in front of the marker so "Nov. 1 [1]." becomes "Nov. 1.".
        kept = line[cursor : m.start()].rstrip(" \t")
        out.append(kept)
        length += len(kept)
        placed.append((length, numbers))
        if kept and line[m.end() : m.end() + 1].isalnum():
            out.append(" ")  # "X.[1]Next" must not become "X.Next"
            length += 1
        cursor = m.end()
    out.append(line[cursor:])
    return "".join(out), placed


# --- lexical support -----------------------------------------------------------------------


def support_score(
    claim: str,
    passage_sentence: str,
    *,
    question: str | None = None,
    context: str | None = None,
) -> float:
    """How well a passage sentence supports a claim, lexically, in [0, 1].

    The score is the share of the claim's content words (lower-cased, lightly stemmed, stopwords
    removed) and numbers that occur in the passage sentence, times `NUMBER_PENALTY` for every
    number, percentage or amount of money in the claim the sentence lacks ("100%" and
    "100 percent" are the same number) and `NAME_PENALTY` for every capitalised name after the
    claim's first word that it lacks ("Japan" where the passage says "China").

    With the `question`, an answer that restates it is judged on what it adds: "According to
    a statement this week from its administration, Sri Lanka is now bankrupt" answers "Which
    country is now bankrupt, according to a statement this week from its administration?" with
    "Sri Lanka", and that is what the quote must hold. The words the claim shares with the
    question only need to be found, at least half of them, in the quote or its `context` (the
    passage it comes from); otherwise the plain share applies. A claim that adds nothing to the
    question scores 0: it answers nothing.

    Args:
        claim: One answer sentence, markers removed.
        passage_sentence: The candidate supporting text.
        question: The question the claim answers, if known.
        context: The passage the sentence comes from, if known.

    Returns:
        0.0 when the claim has no content words or numbers, else the penalised share.
    """
    asked = profile(question) if question else None
    ctx = profile(context) if context else None
    share, penalty = _support_parts(profile(claim), profile(passage_sentence), asked, ctx)
    return share * penalty


def _support_parts(
    claim: Profile,
    passage: Profile,
    asked: Profile | None = None,
    context: Profile | None = None,
) -> tuple[float, float]:
    """(share of the claim's words and numbers found, penalty for missing numbers and names).

    With `asked` (the question's profile), see `support_score`.
    """
    total = len(claim.words) + len(claim.numbers)
    if total == 0:
        return 0.0, 1.0
    if asked is not None:
        given = {w for w in claim.words if word_found(w, asked.words)}
        new_words = claim.words - given
        new_numbers = {n for n in claim.numbers if not number_found(n, asked.numbers)}
        if not new_words and not new_numbers:
            return 0.0, 1.0  # the claim only restates the question
        around = passage.words | (context.words if context is not None else frozenset())
        if given and 2 * sum(word_found(w, around) for w in given) >= len(given):
            missing = {w for w in new_words if not word_found(w, passage.words)}
            found = sum(number_found(n, passage.numbers) for n in new_numbers)
            names = sum(1 for name in claim.names if name <= missing)
            share = (len(new_words) - len(missing) + found) / (len(new_words) + len(new_numbers))
            return share, NUMBER_PENALTY ** (len(new_numbers) - found) * NAME_PENALTY**names
    missing_words = {w for w in claim.words if not word_found(w, passage.words)}
    found_numbers = sum(number_found(n, passage.numbers) for n in claim.numbers)
    missing_numbers = len(claim.numbers) - found_numbers
    missing_names = sum(1 for name in claim.names if name <= missing_words)
    share = (len(claim.words) - len(missing_words) + found_numbers) / total
    return share, NUMBER_PENALTY**missing_numbers * NAME_PENALTY**missing_names


def _content_count(text: str) -> int:
    found = profile(text)
    return len(found.words) + len(found.numbers)


def _is_filler(text: str) -> bool:
    found = profile(text)
    return not found.numbers and len(found.words) < MIN_CONTENT_WORDS


# --- alignment -----------------------------------------------------------------------------


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
    picked = _pick(claim, [passage], _candidates([passage]), embed)
    if picked is None:
        return 0, 0, 0.0
    return picked.start, picked.end, picked.score


@dataclass(frozen=True)
class _Candidate:
    """A span of one sentence or two adjacent sentences of passage `index`."""

    index: int
    start: int
    end: int
    pair: bool


def _candidates(passages: Sequence[str]) -> list[_Candidate]:
    """Single sentences, then adjacent pairs, of each passage; whitespace-trimmed."""
    out: list[_Candidate] = []
    for index, passage in enumerate(passages):
        singles = []
        for s, e in sentence_spans(passage):
            s, e = _trim(passage, s, e)
            if e > s:
                singles.append((s, e))
        out.extend(_Candidate(index, s, e, False) for s, e in singles)
        out.extend(
            _Candidate(index, singles[i][0], singles[i + 1][1], True)
            for i in range(len(singles) - 1)
        )
    return out


def _pick(
    claim: str,
    passages: Sequence[str],
    candidates: Sequence[_Candidate],
    embed: Embed | None,
    floor: float = 0.0,
    asked: Profile | None = None,
) -> _Span | None:
    """The best candidate for `claim` (its passage index is `candidates[i].index`).

    With `embed`, a candidate is embedded only if its best possible blended score (cosine 1)
    could beat every other candidate's worst (cosine 0) and reach `floor`; the others keep their
    worst, so a winner below `floor` may carry an understated score.
    """
    if not candidates:
        return None
    claimed = profile(claim)
    contexts: dict[int, Profile] = {}
    if asked is not None:
        contexts = {i: profile(passages[i]) for i in {c.index for c in candidates}}
    parts = [
        _support_parts(
            claimed, profile(passages[c.index][c.start : c.end]), asked, contexts.get(c.index)
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
    return _Span(c.start, c.end, min(max(scores[best], 0.0), 1.0), c.index)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# --- verification --------------------------------------------------------------------------


def verify_citations(
    answer_text: str,
    hits: Sequence[Hit],
    embed: Embed | None = None,
    *,
    threshold: float = SUPPORT_THRESHOLD,
    question: str | None = None,
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
    pieces = _split_pieces(_collapse_repeats(answer_text), len(hits))
    headers = [
        profile(" ".join(x for x in (h.title, h.source or "", str(h.published or "")) if x))
        for h in hits
    ]
    pieces = _drop_trailing_source_list(pieces, headers)
    passages = [hit.chunk.text for hit in hits]
    candidates = _candidates(passages)
    if embed is not None:
        embed = _memoised(embed)
    recite_threshold = max(threshold, RECITE_THRESHOLD)
    asked = profile(question) if question else None

    numbers: dict[tuple[str, int, int], int] = {}
    citations: dict[int, Citation] = {}
    unsupported: list[str] = []
    recited = 0
    parts: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        piece = _drop_source_name(piece, headers)
        if piece.text.lower() in seen:
            continue  # the model said it already
        seen.add(piece.text.lower())
        cited: list[_Span] = []
        if _needs_citation(piece.text):
            cited = _check_markers(piece, passages, candidates, embed, threshold, asked)
            if not cited:
                found = _pick(piece.text, passages, candidates, embed, recite_threshold, asked)
                if found is not None and found.score >= recite_threshold:
                    cited = [found]
                    recited += 1
                else:
                    unsupported.append(piece.text)
        elif piece.markers and not _abstains(piece.text):
            # A short item ("[2] Japan") needs no citation but may keep one that holds.
            cited = _check_markers(piece, passages, candidates, embed, threshold, asked)
        ns: list[int] = []
        for span in cited:
            hit = hits[span.index]
            key = (hit.chunk.article_id, hit.chunk.start + span.start, hit.chunk.start + span.end)
            n = numbers.setdefault(key, len(numbers) + 1)
            previous = citations.get(n)
            if previous is None or previous.score < span.score:
                citations[n] = _citation(n, hit, span)
            if n not in ns:
                ns.append(n)
        parts.append(piece.prefix + _with_markers(piece.text, ns) + piece.separator)
    return Verified(
        text="".join(parts).strip(),
        citations=[citations[n] for n in sorted(citations)],
        unsupported=unsupported,
        recited=recited,
    )


def _collapse_repeats(text: str) -> str:
    """Keep one copy of any block of `_MIN_REPEAT` or more words repeated back to back.

    Markers compare equal whatever their number: a looping model counts them up
    ("[1] A [2] B [3] A [4] B ...").
    """
    tokens = list(re.finditer(r"\S+", text))
    words = ["[#]" if _MARKER_RE.fullmatch(t.group(0)) else t.group(0) for t in tokens]
    n = len(words)
    cuts: list[tuple[int, int]] = []
    i = 0
    while i < n:
        period = next(
            (
                p
                for p in range(_MIN_REPEAT, (n - i) // 2 + 1)
                if words[i + p] == words[i] and words[i : i + p] == words[i + p : i + 2 * p]
            ),
            0,
        )
        if not period:
            i += 1
            continue
        block = words[i : i + period]
        j = i + 2 * period
        while words[j : j + period] == block:
            j += period
        tail = words[j:]
        if len(tail) < period and tail == block[: len(tail)]:
            j = n  # the copy the token limit cut off
        cuts.append((tokens[i + period - 1].end(), tokens[j - 1].end()))
        i = j
    for start, end in reversed(cuts):
        text = text[:start] + text[end:]
    return text


def _needs_citation(text: str) -> bool:
    return not _is_filler(text) and not _abstains(text)


def _abstains(sentence: str) -> bool:
    """Whether a sentence says the articles lack the answer and claims nothing else.

    "The articles do not say when, but Trump threatened a 100% tariff." makes a claim after
    its contrast word, so it does not abstain.
    """
    low = _normalise_apostrophes(sentence.lower())
    if not any(p in low for p in ABSTENTION_PHRASES):
        return False
    contrast = _CONTRAST_RE.search(low)
    return contrast is None or _content_count(low[contrast.end() :]) < MIN_CONTENT_WORDS


def _check_markers(
    piece: _Piece,
    passages: list[str],
    candidates: list[_Candidate],
    embed: Embed | None,
    threshold: float,
    asked: Profile | None = None,
) -> list[_Span]:
    """The cited passages that support the claim, alone or jointly."""
    aligned: list[_Span] = []
    for n in piece.markers:
        own = [c for c in candidates if c.index == n - 1]
        span = _pick(piece.text, passages, own, embed, threshold, asked)
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
        if _support_parts(claim, profile(_quote(passages, span)), asked)[0] >= JOINT_MIN_SHARE
    ]
    if len(helpers) < 2:
        return []
    share, penalty = _support_parts(
        claim, profile(" ".join(_quote(passages, span) for span in helpers)), asked
    )
    joint = share * penalty
    if joint < threshold:
        return []
    return [_Span(span.start, span.end, joint, span.index) for span in helpers]


def _quote(passages: Sequence[str], span: _Span) -> str:
    return passages[span.index][span.start : span.end]


def _citation(n: int, hit: Hit, span: _Span) -> Citation:
    return cite(n, hit, span.start, span.end, span.score)


def cite(n: int, hit: Hit, start: int, end: int, score: float) -> Citation:
    """Citation number `n` of `hit.chunk.text[start:end]`, with offsets into the article."""
    chunk = hit.chunk
    span = _Span(start, end, score)
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


def _with_markers(text: str, numbers: list[int]) -> str:
    if not numbers:
        return text
    markers = "".join(f"[{n}]" for n in numbers)
    end = _TERMINAL_RE.search(text)
    if end:
        return f"{text[: end.start()]} {markers}{text[end.start() :]}"
    return f"{text} {markers}"


def _drop_source_name(piece: _Piece, headers: list[Profile]) -> _Piece:
    """Drop a closing "(Bloomberg)" or "(Bloomberg, 2025-10-24)": the model citing by name."""
    m = _CLOSING_PAREN_RE.search(piece.text)
    if not m:
        return piece
    named = profile(m.group(1))
    if not named.words and not named.numbers:
        return piece
    if not any(_support_parts(named, header)[0] == 1.0 for header in headers):
        return piece
    text = piece.text[: m.start()].rstrip() + m.group(2)
    return _Piece(piece.prefix, text, piece.markers, piece.separator) if text.strip() else piece


def _drop_trailing_source_list(pieces: list[_Piece], headers: list[Profile]) -> list[_Piece]:
    """Drop a headerless list of source titles the model appended after its answer."""
    end = len(pieces)
    # Only whole lines after the answer count as a list: a last sentence may echo a title.
    while end > 1 and "\n" in pieces[end - 2].separator:
        claim = profile(pieces[end - 1].text)
        total = len(claim.words) + len(claim.numbers)
        if total == 0 or not any(
            _support_parts(claim, header)[0] >= 0.8 and header.words for header in headers
        ):
            break
        end -= 1
    if end == len(pieces) or end == 0:
        return pieces
    kept = pieces[:end]
    last = kept[-1]
    kept[-1] = _Piece(last.prefix, last.text, last.markers, "")
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


# --- abstention ----------------------------------------------------------------------------


def abstention_text() -> str:
    """The reply used when the articles do not answer the question."""
    return ABSTENTION_TEXT


def is_abstention(text: str) -> bool:
    """Whether an answer says the articles cannot answer the question.

    True when some sentence matches one of `ABSTENTION_PHRASES` (case-insensitive) and no
    other sentence makes a substantive cited claim. A partial answer such as "The articles do
    not say when, but Trump threatened a 100% tariff [1]." is not an abstention. An empty
    answer counts as one: it answers nothing.

    Args:
        text: The model's raw or verified answer.

    Returns:
        True if the answer abstains.
    """
    claims = parse_markers(text)
    if not claims:
        return True
    said = False
    substantive = False
    for claim in claims:
        if _abstains(claim.text):
            said = True
        elif claim.markers and not _is_filler(claim.text):
            substantive = True
    return said and not substantive


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
        parts.append(_with_markers(claim.text, list(_dedupe(numbers))))
    citations = []
    for n_model, n in order.items():
        hit = hits[n_model - 1]
        span = _Span(index=n_model - 1, start=0, end=len(hit.chunk.text), score=0.0)
        citations.append(_citation(n, hit, span))
    return _tidy(" ".join(p for p in parts if p.strip())), citations


def says_unanswered(text: str) -> bool:
    """Whether some sentence of `text` says the articles do not answer (part of) the question."""
    return any(_abstains(claim.text) for claim in parse_markers(text))


def _normalise_apostrophes(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'")
