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

from assistant.places import places_in
from assistant.text import (
    QUESTION_STOPWORDS,
    QUESTION_WORD_RE,
    YEAR_RE,
    content_words,
    light_stem,
    mentions_date,
    mentions_number,
    question_terms,
    word_found,
)

_QUESTION_WORDS = (
    r"who|whom|whose|what|which|when|where|why|how|is|are|was|were|do|does|did|can|could|"
    r"will|would|has|have|had|should"
)
_SPLIT = re.compile(
    rf"\?\s+|\s*[,;]?\s+(?:and|but)\s+(?=(?:{_QUESTION_WORDS})\b)|\?$", re.IGNORECASE
)
_NAME = re.compile(r"\b[A-Z][a-z]+")
MIN_PART_WORDS = 2  # a part needs this many words of its own to be checked on its own


def question_parts(question: str) -> list[str]:
    """The sub-questions of `question`, in order (one item for a simple question)."""
    parts = [p.strip(" ,;") for p in _SPLIT.split(question.strip())]
    parts = [p for p in parts if p]
    return parts or [question.strip()]


_NAMED_THINGS = (
    "country|countries|city|cities|state|states|nation|company|companies|firm|team|person|"
    "leader|president|minister|organization|organisation|agency|group|party|band|singer|actor|"
    "actress|artist|author|player|athlete|brand|automaker|airline|bank|network|island|province|"
    "region|continent|university|school|newspaper|publisher|show|film|movie|song|album|book"
)
_ASKS_NAME = re.compile(rf"^(?:which|what)\s+(?:\w+\s+)?(?:{_NAMED_THINGS})\b", re.IGNORECASE)
_CLAUSE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def answer_kind(part: str) -> str | None:
    """The kind of answer a question asks for: 'date', 'number', 'name', or None.

    Read from the clause that asks: in "Police arrested 31 men this week. Where was the event?"
    that is "Where was the event?".
    """
    clauses = [c for c in _CLAUSE.split(part.strip()) if c.strip()]
    asking = [c for c in clauses if c.rstrip().endswith("?")]
    part = (asking or clauses or [part])[-1]
    if _ASKS_NAME.match(part.strip()):
        return "name"
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
    if first in ("who", "whom", "whose", "where"):
        return "name"
    return None


def has_kind(kind: str, text: str, part: str) -> bool:
    """Does `text` hold an answer of `kind` (a name must be one the question `part` lacks)?"""
    if kind == "date":
        return mentions_date(text)
    if kind == "number":
        return mentions_number(text)
    asked = {w.lower() for w in QUESTION_WORD_RE.findall(part)} | QUESTION_STOPWORDS
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
    have = question_terms(text)
    words = [question_terms(p) for p in parts]
    open_parts = []
    for i, part in enumerate(parts):
        own = words[i] - set().union(*(w for j, w in enumerate(words) if j != i))
        kind = answer_kind(part)
        if kind and not has_kind(kind, text, part):
            open_parts.append(part)
            continue
        if len(own) >= MIN_PART_WORDS and len(own & have) * 2 < len(own):
            open_parts.append(part)
    return open_parts if len(open_parts) < len(parts) else []


def uncovered_sentence(parts: Sequence[str]) -> str:
    """The sentence appended to a partial answer."""
    quoted = "; ".join(f"“{p.rstrip('?')}?”" for p in parts)
    return f"The articles do not answer this part of the question: {quoted}"


ANCHOR_SHARE = 0.5
"""Least share of the question's content words that the answer and its sources must hold."""
_GENERIC = frozenset(
    light_stem(w)
    for w in (
        "week",
        "weekend",
        "month",
        "year",
        "day",
        "today",
        "yesterday",
        "tonight",
        "recent",
        "recently",
        "latest",
        "ago",
    )
)


def answers_question(
    question: str,
    supported: Sequence[str],
    sources: Sequence[str],
    *,
    share: float = ANCHOR_SHARE,
) -> bool:
    """Do the supported sentences (with the sources they cite) answer `question` at all?

    A sentence can be true and backed by its source and still not answer the question: asked
    "Who acquired WhatsApp?", a snippet about WhatsApp's founders supports "WhatsApp was
    founded by Jan Koum", which names no buyer. So the answer must hold the kind of answer the
    question asks for (a date, a number, a name it does not itself contain), and the cited
    sources (not the answer, which may just restate the question) must hold at least
    `ANCHOR_SHARE` of the question's content words (less the words of time, which the date
    filter handles) and every year it names: "Super Bowl 2021" is not answered from a snippet
    about Super Bowl LVIII in 2024. An answer that names years, none of them the question's,
    is about another time ("Osaka won the U.S. Open in 2018" for "Who won it in 2020?"); and
    every country or US state the question names (bar the United States itself) must be in
    the sources: a story from Delaware does not answer what was seen in Papua New Guinea.

    Args:
        question: The (standalone) question.
        supported: The answer's sentences that carry a verified citation.
        sources: The texts of the articles those sentences cite (with their titles).
        share: Least share of the question's content words the sources must hold.
    """
    if not supported:
        return False
    answer = " ".join(supported)
    read = " ".join(sources)
    held = content_words(read)
    # The United States is left out: US news seldom names its own country, and "the U.S.
    # Open" is an event, not a place.
    places = places_in(read) | {"United States"}
    # a many-part question is answered in part when one part is; `uncovered_parts` names the rest
    return any(
        _answers_part(part, answer, held, share) and places_in(part) <= places
        for part in question_parts(question)
    )


def _answers_part(part: str, answer: str, held: frozenset[str], share: float) -> bool:
    kind = answer_kind(part)
    if kind and not has_kind(kind, answer, part):
        return False
    asked = content_words(part) - _GENERIC
    if not asked:
        return True
    years = {w for w in asked if YEAR_RE.fullmatch(w)}
    if any(y not in held for y in years):
        return False
    said = {w for w in content_words(answer) if YEAR_RE.fullmatch(w)}
    if years and said and not years & said:
        return False  # asked about 2020, answered about 2018
    found = sum(word_found(w, held) for w in asked)
    return found >= share * len(asked)
