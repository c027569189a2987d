"""`Article` -> `Chunk`s: whole sentences packed into passages with character offsets. Pure.

Every chunk satisfies ``chunk.text == article.text[chunk.start:chunk.end]``, so a citation found
in a chunk can be located in its article. Sentence splitting is a small regex-based splitter
tuned for news prose (abbreviations, initials, decimals, closing quotes); it runs in linear time.
"""

from __future__ import annotations

import re

from assistant.types import Article, Chunk

# A candidate sentence end: a newline, or terminal punctuation plus any closing quotes and
# brackets, followed by whitespace or the end of the text. "$8.5" and "3.5%" never match
# because no whitespace follows their full stop.
_CANDIDATE_RE = re.compile(r"\n|[.!?]+[\"'”’)\]]*(?=\s|\Z)")
_NEXT_WORD_RE = re.compile(r"[^\S\n]*[\"'“‘(\[]*(\S?)(\w*)")
_TOKEN_BEFORE_RE = re.compile(r"[\"'“‘(\[]*(\S*)\Z")
_INITIALISM_RE = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_WORD_RE = re.compile(r"\S+")

# Never a sentence end: titles and month names are followed by the word they qualify.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sen",
        "rep",
        "gov",
        "gen",
        "lt",
        "col",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "maj",
        "cpl",
        "pvt",
        "st",
        "rev",
        "hon",
        "pres",
        "supt",
        "det",
        "insp",
        "ave",
        "blvd",
        "mt",
        "ft",
        "vs",
        "no",
        "nos",
        "vol",
        "fig",
        "approx",
        "dept",
        "est",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
# A sentence end only when the next word typically starts a sentence ("in the U.S. The ...").
_WEAK_ABBREVIATIONS = frozenset(["inc", "corp", "co", "ltd", "jr", "sr", "bros", "etc"])
_SENTENCE_STARTERS = frozenset(
    [
        "The",
        "A",
        "An",
        "He",
        "She",
        "It",
        "They",
        "We",
        "I",
        "You",
        "His",
        "Her",
        "Its",
        "Their",
        "Our",
        "This",
        "That",
        "These",
        "Those",
        "There",
        "But",
        "And",
        "So",
        "Yet",
        "Or",
        "In",
        "On",
        "At",
        "As",
        "For",
        "If",
        "When",
        "While",
        "After",
        "Before",
        "Since",
        "Although",
        "However",
        "Meanwhile",
        "Still",
        "Now",
        "Then",
        "Some",
        "Many",
        "Most",
        "Other",
        "Others",
        "One",
        "Two",
        "Both",
        "Each",
        "All",
        "Officials",
        "What",
        "Why",
        "How",
        "Who",
        "Where",
    ]
)


def _is_sentence_end(text: str, line_start: int, start: int, end: int) -> bool:
    """Decide whether the punctuation run at text[start:end] ends a sentence."""
    nxt = _NEXT_WORD_RE.match(text, end)
    assert nxt is not None  # the pattern matches the empty string
    first_char, rest = nxt.group(1), nxt.group(2)
    if not first_char:
        return True  # end of line or text
    if first_char.islower():
        return False  # '"Why?" he asked.' / 'Apple Inc. said'
    if text[start] != ".":
        return True
    if first_char.isdigit() and end - start == 1:
        return False  # "No. 1", "Nov. 1"
    before = _TOKEN_BEFORE_RE.search(text, max(line_start, start - 40), start)
    token = before.group(1) if before else ""
    if not token:
        return True
    lowered = token.lower()
    if lowered in _ABBREVIATIONS:
        return False
    if len(token) == 1 and token.isupper():
        return False  # an initial: "J. K. Rowling"
    if lowered in _WEAK_ABBREVIATIONS or _INITIALISM_RE.fullmatch(token):
        return first_char + rest in _SENTENCE_STARTERS  # "U.S. President" vs "U.S. The"
    return True


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split text into sentences given as character offsets.

    Newlines always end a sentence; ``.``, ``?`` and ``!`` (with any closing quotes) end one
    unless they belong to an abbreviation (``U.S.``, ``Mr.``, ``Nov. 1``), an initial
    (``J. K.``), or are followed by a lowercase word.

    Args:
        text: Any text.

    Returns:
        Sorted, non-overlapping ``(start, end)`` pairs, each trimmed of surrounding whitespace
        and never containing a newline; together they cover every non-whitespace character.
    """
    spans: list[tuple[int, int]] = []
    segment_start = 0
    line_start = 0

    def add(start: int, end: int) -> None:
        segment = text[start:end]
        stripped = segment.lstrip()
        if stripped:
            first = start + len(segment) - len(stripped)
            spans.append((first, first + len(stripped.rstrip())))

    for match in _CANDIDATE_RE.finditer(text):
        start, end = match.span()
        if text[start] == "\n":
            add(segment_start, start)
            segment_start = line_start = end
        elif _is_sentence_end(text, line_start, start, end):
            add(segment_start, end)
            segment_start = end
    add(segment_start, len(text))
    return spans


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut text[start:end] into pieces of at most `size` characters at word boundaries
    (inside a word only when the word alone is longer than `size`)."""
    pieces: list[tuple[int, int]] = []
    piece_start = piece_end = -1
    for word in _WORD_RE.finditer(text, start, end):
        word_start, word_end = word.span()
        while word_end - word_start > size:  # a monster "word" (URL, base64...)
            if piece_start >= 0:
                pieces.append((piece_start, piece_end))
                piece_start = -1
            pieces.append((word_start, word_start + size))
            word_start += size
        if piece_start >= 0 and word_end - piece_start <= size:
            piece_end = word_end
            continue
        if piece_start >= 0:
            pieces.append((piece_start, piece_end))
        piece_start, piece_end = word_start, word_end
    if piece_start >= 0:
        pieces.append((piece_start, piece_end))
    return pieces


def _units(text: str, size: int) -> list[tuple[int, int]]:
    units: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if end - start <= size:
            units.append((start, end))
        else:
            units.extend(_split_long(text, start, end, size))
    return units


def chunk_article(article: Article, *, size: int = 600, overlap: int = 120) -> list[Chunk]:
    """Cut an article into passages of whole sentences.

    Sentences are packed into chunks of at most `size` characters; each chunk after the first
    starts with the last sentences of the previous one (about `overlap` characters, at least
    one sentence when `overlap` > 0) so that a fact spanning a boundary is not lost. A
    sentence longer than `size` is cut at word boundaries.

    Args:
        article: The article; its `text` is what chunk offsets point into.
        size: Largest chunk, in characters.
        overlap: Characters of whole sentences repeated from the previous chunk.

    Returns:
        Chunks in order, with ids ``f"{article.id}#{index}"``; together they cover every
        non-whitespace character of the article. Empty for a blank article.

    Raises:
        ValueError: `size` is not positive or `overlap` is negative.
    """
    if size < 1 or overlap < 0:
        raise ValueError(f"chunk size must be >= 1 and overlap >= 0, got {size} and {overlap}")
    text = article.text
    units = _units(text, size)
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last = first  # exclusive end, grown greedily
        chunk_start = units[first][0]
        while last < len(units) and units[last][1] - chunk_start <= size:
            last += 1
        start, end = chunk_start, units[last - 1][1]
        chunks.append(
            Chunk(
                id=f"{article.id}#{len(chunks)}",
                article_id=article.id,
                index=len(chunks),
                text=text[start:end],
                start=start,
                end=end,
            )
        )
        if last == len(units):
            break
        # Back up over whole sentences for the overlap, but keep making progress and make sure
        # the next chunk still has room for the first sentence this one could not take.
        nxt = last
        while nxt - 1 > first and end - units[nxt - 1][0] <= overlap:
            nxt -= 1
        if overlap > 0 and nxt == last and last - 1 > first:
            nxt = last - 1
        while nxt < last and units[last][1] - units[nxt][0] > size:
            nxt += 1
        first = nxt
    return chunks
