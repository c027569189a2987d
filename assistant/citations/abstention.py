"""Abstention: sentences and answers that say the articles do not answer the question."""

from __future__ import annotations

import re

from assistant.citations.markers import parse_markers
from assistant.citations.support import MIN_CONTENT_WORDS, content_count, is_filler

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

_CONTRAST_RE = re.compile(r",\s*but\b|;\s*but\b|\bbut\b|\bhowever\b|\balthough\b|\bthough\b")


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
        if abstains(claim.text):
            said = True
        elif claim.markers and not is_filler(claim.text):
            substantive = True
    return said and not substantive


def says_unanswered(text: str) -> bool:
    """Whether some sentence of `text` says the articles do not answer (part of) the question."""
    return any(abstains(claim.text) for claim in parse_markers(text))


def abstains(sentence: str) -> bool:
    """Whether a sentence says the articles lack the answer and claims nothing else.

    "The articles do not say when, but Trump threatened a 100% tariff." makes a claim after
    its contrast word, so it does not abstain.
    """
    low = _normalise_apostrophes(sentence.lower())
    if not any(p in low for p in ABSTENTION_PHRASES):
        return False
    contrast = _CONTRAST_RE.search(low)
    return contrast is None or content_count(low[contrast.end() :]) < MIN_CONTENT_WORDS


def _normalise_apostrophes(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'")
