"""Citation markers: the numbered sources block, and parsing, stripping and renumbering `[n]`.

The chain numbers the retrieved passages [1]..[k] (`number_sources`) and asks the model to end
each sentence with the number of its source. A small local model is sloppy: it forgets
markers, writes `[1,2]`, `[1][2]`, `(1)`, `[Source 1]` or `【1】`, or appends a sources list.
`parse_markers` reads every such form into one `Claim` per sentence; `strip_markers` removes
them; `split_pieces` keeps what surrounds each sentence so the answer can be rebuilt with
renumbered markers (`with_markers`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.chunking import sentence_spans
from assistant.types import Hit

MAX_MARKER = 99
"""Largest number read as a citation marker (so `[2022]` stays text)."""
BARE_PAREN_MAX = 20
"""Largest number read from a bare `(n)` marker when the number of sources is unknown."""

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


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer: its text without markers and the source numbers it cites."""

    text: str
    markers: tuple[int, ...]


@dataclass(frozen=True)
class Piece:
    """A claim plus what surrounds it in the answer, so the layout can be rebuilt."""

    prefix: str
    text: str
    markers: tuple[int, ...]
    separator: str


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
    return [Claim(p.text, p.markers) for p in split_pieces(text, max_n)]


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


def tidy(text: str) -> str:
    return _tidy_lines(" ".join(text.split()))


def split_pieces(text: str, max_n: int | None) -> list[Piece]:
    text = _drop_sources_section(text)
    pieces: list[Piece] = []
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
        pieces[-1] = Piece(last.prefix, last.text, last.markers, "")
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
    pieces: list[Piece], prefix: str, body: str, newline: str, max_n: int | None
) -> None:
    """Append the sentences of one line (or labelled segment) to `pieces`."""
    clean, placed = _remove_markers(body, max_n)
    spans = [(s, e) for s, e in sentence_spans(clean) if _has_text(clean[s:e])]
    if not spans:
        if placed and pieces:
            # A line of nothing but markers cites the sentence before it.
            last = pieces[-1]
            pieces[-1] = Piece(last.prefix, last.text, _merge(last.markers, placed), last.separator)
        if pieces and newline:
            last = pieces[-1]
            pieces[-1] = Piece(last.prefix, last.text, last.markers, last.separator + newline)
        return
    owned: list[list[tuple[int, tuple[int, ...]]]] = [[] for _ in spans]
    for pos, numbers in placed:
        index = max((i for i, (s, _) in enumerate(spans) if s < pos), default=0)
        owned[index].append((pos, numbers))
    for i, (s, e) in enumerate(spans):
        cited = dedupe(n for _, numbers in owned[i] for n in numbers)
        if max_n is not None:
            cited = tuple(n for n in cited if n <= max_n)
        separator = " " if i < len(spans) - 1 else newline
        pieces.append(Piece(prefix if i == 0 else "", tidy(clean[s:e]), cited, separator))


def _lines_with_breaks(text: str) -> list[tuple[str, str]]:
    """Lines of `text`, each with the line break that follows it ("" for the last)."""
    parts = re.split(r"(\n+)", text)
    return [(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]


def _merge(markers: tuple[int, ...], placed: list[tuple[int, tuple[int, ...]]]) -> tuple[int, ...]:
    return dedupe([*markers, *(n for _, numbers in placed for n in numbers)])


def dedupe(numbers: Iterable[int]) -> tuple[int, ...]:
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


def with_markers(text: str, numbers: list[int]) -> str:
    if not numbers:
        return text
    markers = "".join(f"[{n}]" for n in numbers)
    end = _TERMINAL_RE.search(text)
    if end:
        return f"{text[: end.start()]} {markers}{text[end.start() :]}"
    return f"{text} {markers}"


def collapse_repeats(text: str) -> str:
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
