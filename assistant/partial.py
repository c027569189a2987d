"""Partial answers: which parts of a many-part question the verified answer leaves open.

"Who won the election, and when will the new president take office?" has two parts. When the
articles answer only the first, the answer should say so rather than pass over the second in
silence. `question_parts` splits a question at its question marks and at "and"/"but" before a
new question word; `uncovered_parts` checks each part against the answer's *supported* sentences
(the ones with a verified citation):

- the kind of answer a question word asks for must be there: a date or time for "when", a
  number for "how many/much/long/old", a name for "who/whom/whose";
- and the part's own content words (those its sibling parts do not share) must be met, at
  least half of them (lightly stemmed), in the supported sentences.

It is a deliberately plain check, with no model call: a 0.5B model cannot be relied on to judge
its own coverage, and a check that says "not covered" too eagerly would spoil good answers, so
single-part questions are never flagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.citations import stem

_QUESTION_WORDS = (
    r"who|whom|whose|what|which|when|where|why|how|is|are|was|were|do|does|did|can|could|"
    r"will|would|has|have|had|should"
)
_SPLIT = re.compile(
    rf"\?\s+|\s*[,;]?\s+(?:and|but)\s+(?=(?:{_QUESTION_WORDS})\b)|\?$", re.IGNORECASE
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*%?")
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand"
    r"|million|billion|trillion|dozen|half|percent)\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday|today|yesterday|tomorrow|tonight|week|month|year|"
    r"morning|evening|night|spring|summer|autumn|winter|ago)\b|(?-i:\bMay\b)"
    r"|\b(?:1[89]|20)\d\d\b|\b\d{1,2}[:/]\d{2}\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"\b[A-Z][a-z]+")
_STOPWORDS = """
a an the and or but if of at by for with about into to from in on off out up down over under
as than then so that this these those there here it its it's they them their he him his she
her we us our you your i me my is are was were be been being do does did done have has had
having will would can could should may might must shall not no yes what which who whom whose
when where why how many much long old any some all each other more most such only own same
just also very said say says tell told according
"""
_STOP = frozenset(_STOPWORDS.split())
MIN_PART_WORDS = 2  # a part needs this many words of its own to be checked on its own


def question_parts(question: str) -> list[str]:
    """The sub-questions of `question`, in order (one item for a simple question)."""
    parts = [p.strip(" ,;") for p in _SPLIT.split(question.strip())]
    parts = [p for p in parts if p]
    return parts or [question.strip()]


def _content(text: str) -> set[str]:
    words = (w.lower().replace("’", "'").removesuffix("'s") for w in _WORD.findall(text))
    return {stem(w) for w in words if w not in _STOP and len(w) > 1}


def _wants(part: str) -> str | None:
    head = part.lower().split()
    if not head:
        return None
    first = head[0]
    if first == "when" or (
        first in ("what", "which")
        and len(head) > 1
        and head[1] in ("date", "day", "year", "month", "time")
    ):
        return "date"
    if first == "how" and len(head) > 1 and head[1] in ("many", "much", "long", "old", "far"):
        return "number"
    if first in ("who", "whom", "whose"):
        return "name"
    return None


def _has(kind: str, text: str, part: str) -> bool:
    if kind == "date":
        return bool(_DATE.search(text))
    if kind == "number":
        return bool(_NUMBER.search(text))
    asked = {w.lower() for w in _WORD.findall(part)} | _STOP
    return any(m.group(0).lower() not in asked for m in _NAME.finditer(text))


def uncovered_parts(question: str, supported: Sequence[str]) -> list[str]:
    """The parts of a many-part `question` that the `supported` answer sentences leave open.

    Args:
        question: The (standalone) question.
        supported: The answer's sentences that carry a verified citation.

    Returns:
        The uncovered parts, as written in the question; empty for a single-part question or
        when nothing is supported (that is an abstention, not a partial answer).
    """
    parts = question_parts(question)
    if len(parts) < 2 or not supported:
        return []
    text = " ".join(supported)
    have = _content(text)
    words = [_content(p) for p in parts]
    open_parts = []
    for i, part in enumerate(parts):
        own = words[i] - set().union(*(w for j, w in enumerate(words) if j != i))
        kind = _wants(part)
        if kind and not _has(kind, text, part):
            open_parts.append(part)
            continue
        if len(own) >= MIN_PART_WORDS and len(own & have) * 2 < len(own):
            open_parts.append(part)
    return open_parts if len(open_parts) < len(parts) else []


def uncovered_sentence(parts: Sequence[str]) -> str:
    """The sentence appended to a partial answer."""
    quoted = "; ".join(f"“{p.rstrip('?')}?”" for p in parts)
    return f"The articles do not answer this part of the question: {quoted}"
