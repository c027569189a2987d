"""Lexical support: how much of an answer sentence a passage span says.

Support is the share of the claim's content words and numbers (`assistant.text.profile`) found
in the span, times a penalty for every number and name of the claim the span lacks, so a wrong
figure or a wrong country sinks a claim however similar it sounds:

    share * NUMBER_PENALTY ** (numbers missing) * NAME_PENALTY ** (names missing)
"""

from __future__ import annotations

from assistant.places import COUNTRIES
from assistant.text import YEAR_RE, Profile, number_found, profile, word_found

NUMBER_PENALTY = 0.25
"""Factor applied per number of the claim that the passage span does not contain."""
NAME_PENALTY = 0.5
"""Factor applied per capitalised name of the claim (after its first word) the span lacks."""
MIN_CONTENT_WORDS = 3
"""Sentences with fewer content words (and no numbers) are filler and need no citation."""


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
    share, penalty = support_parts(profile(claim), profile(passage_sentence), asked, ctx)
    return share * penalty


def support_parts(
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
            wrong = _other_years(claim, passage, context, new_numbers)
            wrong += _other_places(claim, asked, passage, context)
            penalty = NUMBER_PENALTY ** (len(new_numbers) - found + wrong)
            return share, penalty * NAME_PENALTY**names
    missing_words = {w for w in claim.words if not word_found(w, passage.words)}
    found_numbers = sum(number_found(n, passage.numbers) for n in claim.numbers)
    missing_numbers = len(claim.numbers) - found_numbers
    missing_names = sum(1 for name in claim.names if name <= missing_words)
    share = (len(claim.words) - len(missing_words) + found_numbers) / total
    return share, NUMBER_PENALTY**missing_numbers * NAME_PENALTY**missing_names


def _other_years(
    claim: Profile, passage: Profile, context: Profile | None, new_numbers: set[str]
) -> int:
    """How many years the claim repeats from the question ("revenue in 2021") its passage
    lacks while naming another year ("in 2020"): then it is about another time, not the one
    asked about. A passage that names no year may still be about it."""
    numbers = passage.numbers | (context.numbers if context is not None else frozenset())
    years = {n for n in numbers if YEAR_RE.fullmatch(n)}
    repeated = {n for n in claim.numbers if n not in new_numbers and YEAR_RE.fullmatch(n)}
    return sum(1 for y in repeated if y not in years) if years else 0


def _other_places(claim: Profile, asked: Profile, passage: Profile, context: Profile | None) -> int:
    """How many places the claim repeats from the question ("the deal signed in Malaysia")
    its passage lacks while naming another place ("the pact with Australia"): then it is
    about another place. A US state in the passage counts as the United States."""
    around = passage.places | (context.places if context is not None else frozenset())
    if not around - asked.places - claim.places:
        return 0  # no other place named: the passage may still be about the one asked
    found = around | ({"United States"} if around - COUNTRIES else frozenset())
    return sum(1 for place in claim.places & asked.places if place not in found)


def content_count(text: str) -> int:
    found = profile(text)
    return len(found.words) + len(found.numbers)


def is_filler(text: str) -> bool:
    found = profile(text)
    return not found.numbers and len(found.words) < MIN_CONTENT_WORDS
