"""The text toolkit: words, stopwords, stems, numbers and dates, in one place.

Pure functions over strings, shared by retrieval (`retrieve`), citation support (`citations`),
partial answers (`partial`), evidence selection and conflicts. Two tokenisations are kept on
purpose, because each one's output is what something else depends on:

- `bm25_tokens`, the terms of the lexical index: lower-cased `TOKEN_RE` matches that keep
  `$`, `%` and numbers such as `8.5` whole, `RETRIEVAL_STOPWORDS` dropped, Snowball (Porter 2)
  stems from PyStemmer. A built BM25 index and the retrieval figures depend on these tokens
  byte for byte.
- `profile` (and `content_words`, `number_keys`, `name_words`), what citation support counts:
  `WORD_RE` words with `SUPPORT_STOPWORDS` dropped and month abbreviations spelled out,
  stemmed by `light_stem`, which is deliberately looser than Snowball on the forms support
  must match ("impose"/"imposed"); numbers normalised with their unit ("100 percent" is
  "100%", "$8.5 billion" is "8.5b"); runs of capitalised words as names. Every support score
  depends on these.

The stopword sets share one list of English function words (`FUNCTION_WORDS`); each set adds
what its use needs, and `tests/unit/test_text.py` pins every set, so a change to one is a
deliberate change of retrieval or support results, never a side effect.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from assistant.places import places_in

# --- stopwords -------------------------------------------------------------------------------

_FUNCTION_WORD_TEXT = """
    a about above after again against all also am an and any are at be been before being below
    between both but by can could did do does doing down during each few for from further had
    has have having he her here him his how i if in into is it its just me more most my no nor
    not now of off on once only or other our out over own said same says she should so some
    such than that the their them then there these they this those through to too under up very
    was we were what when where which who whom why will with would you your
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORD_TEXT.split())
"""English function words (and "said"/"says") that every stopword set below drops."""

RETRIEVAL_STOPWORDS = FUNCTION_WORDS | {"don", "s", "t"}
"""What `bm25_tokens` drops: the function words plus NLTK's contraction fragments."""

_MORE_FUNCTION_WORD_TEXT = """
    aren't as because cannot couldn't didn't doesn't don't either hadn't hasn't haven't he'd
    he'll he's here's hers herself himself how's i'd i'll i'm i've isn't it's itself let's may
    might must mustn't myself ought ours ourselves shall shan't she'd she'll she's shouldn't
    that's theirs themselves there's they'd they'll they're they've though until upon us wasn't
    we'd we'll we're we've weren't what's when's where's whether while who's why's won't
    wouldn't yes yet you'd you'll you're you've yours yourself yourselves
"""
_MORE_FUNCTION_WORDS = frozenset(_MORE_FUNCTION_WORD_TEXT.split())
_ATTRIBUTION_TEXT = """
    according article articles passage passages source sources text provided mentioned mention
    say told stated state reported report reports
"""
ATTRIBUTION_WORDS = frozenset(_ATTRIBUTION_TEXT.split())
"""The model's attribution filler ("according to the article, ..."), which claims nothing."""

SUPPORT_STOPWORDS = FUNCTION_WORDS | _MORE_FUNCTION_WORDS | ATTRIBUTION_WORDS
"""Words that carry no claim: what `profile` drops before support counts a claim's words."""

_QUESTION_STOPWORD_TEXT = """
    a an the and or but if of at by for with about into to from in on off out up down over under
    as than then so that this these those there here it its it's they them their he him his she
    her we us our you your i me my is are was were be been being do does did done have has had
    having will would can could should may might must shall not no yes what which who whom whose
    when where why how many much long old any some all each other more most such only own same
    just also very said say says tell told according
"""
QUESTION_STOPWORDS = frozenset(_QUESTION_STOPWORD_TEXT.split())
"""What `question_terms` drops: a question's own wording ("how many", "tell", "whose").

Unlike `SUPPORT_STOPWORDS` it keeps words that narrow a question ("before", "during",
"against").
"""

# --- stemming --------------------------------------------------------------------------------


@functools.cache
def _snowball() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def snowball_stem(token: str) -> str:
    """The Snowball (Porter 2) English stem of a word; numbers, `$8.5`, `100%` stay as they are."""
    if not token.isalpha():
        return token
    return str(_snowball().stemWord(token))


def light_stem(word: str) -> str:
    """A crude stemmer: enough to match plural, past and -ing forms of the same word."""
    if (word.endswith("ies") and len(word) > 4) or (word.endswith("ied") and len(word) > 4):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]  # "stopp" -> "stop"
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]  # "impose" and "imposed" meet at "impos"
    return word


# --- tokenising ------------------------------------------------------------------------------

TOKEN_RE = re.compile(r"[\w$%]+(?:[.,'’][\w%]+)*", re.UNICODE)
"""A retrieval token: word characters, `$` and `%`, joined across `.`, `,` and apostrophes."""
WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
"""A word for support: letters, joined across apostrophes (numbers are read apart)."""
ACRONYM_RE = re.compile(r"\b(?:[A-Za-z]\.){2,}")
"""A dotted acronym ("U.S."), read as one word once its dots are dropped."""
QUESTION_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*%?")
"""A word or number of a question, as `question_terms` and the answer-kind checks read it."""


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased, stemmed content tokens for BM25 ("recalled" and "recalls": "recal").

    Numbers keep their decimal point and thousands separators ("8.5", "1,000"), and `$` and
    `%` stay attached ("$6", "100%"), so amounts match only themselves.
    """
    out = []
    for raw in TOKEN_RE.findall(text.lower()):
        tok = raw.replace("’", "'")
        if tok.endswith("'s"):
            tok = tok[:-2]
        if tok in RETRIEVAL_STOPWORDS or not tok:
            continue
        out.append(snowball_stem(tok))
    return out


def question_terms(text: str) -> set[str]:
    """The lightly stemmed words and numbers of a question (part), its own wording dropped."""
    words = (w.lower().replace("’", "'").removesuffix("'s") for w in QUESTION_WORD_RE.findall(text))
    return {light_stem(w) for w in words if w not in QUESTION_STOPWORDS and len(w) > 1}


# --- numbers and dates -----------------------------------------------------------------------

MONTHS = MappingProxyType(
    {
        "jan": "january",
        "feb": "february",
        "mar": "march",
        "apr": "april",
        "jun": "june",
        "jul": "july",
        "aug": "august",
        "sep": "september",
        "sept": "september",
        "oct": "october",
        "nov": "november",
        "dec": "december",
    }
)
"""Month abbreviations, spelled out ("Nov. 1" and "November 1" are the same date)."""

NUMBER_UNITS = MappingProxyType(
    {
        "%": "%",
        "percent": "%",
        "per cent": "%",
        "pct": "%",
        "billion": "b",
        "bn": "b",
        "million": "m",
        "mn": "m",
        "trillion": "t",
        "thousand": "k",
    }
)
"""The units a number keeps in `number_keys`, each under one short name."""

NUMBER_RE = re.compile(
    r"(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)"
    r"(?:\s*(?P<unit>%|percent\b|per\s+cent\b|pct\b|billion\b|bn\b|million\b|mn\b"
    r"|trillion\b|thousand\b))?",
    re.IGNORECASE,
)
"""A number ("1,000", "8.5") with the unit that follows it, if any."""

_NUMBER_MENTION_RE = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand"
    r"|million|billion|trillion|dozen|half|percent)\b",
    re.IGNORECASE,
)
_DATE_MENTION_RE = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday|today|yesterday|tomorrow|tonight|week|month|year|"
    r"morning|evening|night|spring|summer|autumn|winter|ago)\b|(?-i:\bMay\b)"
    r"|\b(?:1[89]|20)\d\d\b|\b\d{1,2}[:/]\d{2}\b",
    re.IGNORECASE,
)
YEAR_RE = re.compile(r"(?:1[89]|20)\d\d")
"""A year from 1800 to 2099 (match it whole with `fullmatch`)."""


def number_keys(text: str) -> frozenset[str]:
    """The normalised numbers of `text` ("100%" and "100 percent" are both "100%")."""
    keys = set()
    for m in NUMBER_RE.finditer(text):
        value = m.group("num").replace(",", "")
        if "." in value:
            value = value.rstrip("0").rstrip(".")
        unit = m.group("unit")
        keys.add(value + (NUMBER_UNITS[" ".join(unit.lower().split())] if unit else ""))
    return frozenset(keys)


def number_found(key: str, numbers: frozenset[str]) -> bool:
    """Is the number `key` among `numbers`? A bare "8.5" is found in "8.5b" or "8.5%"."""
    if key in numbers:
        return True
    return key.replace(".", "").isdigit() and any(n.rstrip("%bmtk") == key for n in numbers)


def mentions_number(text: str) -> bool:
    """Does `text` hold a number, in digits or words ("31", "three", "a dozen", "half")?"""
    return bool(_NUMBER_MENTION_RE.search(text))


def mentions_date(text: str) -> bool:
    """Does `text` hold a date or time: a month, weekday, season, year, "12:30", "ago"?"""
    return bool(_DATE_MENTION_RE.search(text))


# --- content words ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What support counts in a text.

    Attributes:
        words: Stemmed content words; acronyms ("US") kept lower-cased even when a stopword.
        numbers: Normalised numbers (`number_keys`).
        names: Runs of capitalised words ("Xi Jinping"), each a set of its stemmed `words`;
            a lone capitalised first word is only the start of a sentence.
        places: The countries and US states named, by key (`assistant.places`).
    """

    words: frozenset[str]
    numbers: frozenset[str]
    names: frozenset[frozenset[str]]
    places: frozenset[str] = frozenset()


def profile(text: str) -> Profile:
    """The content words, numbers and names of `text` (see `Profile`)."""
    numbers = number_keys(text)
    stripped = NUMBER_RE.sub(" ", text)
    stripped = ACRONYM_RE.sub(lambda m: m.group(0).replace(".", ""), stripped)
    words: set[str] = set()
    runs: list[tuple[int, set[str]]] = []
    run: set[str] | None = None
    run_end = 0
    for index, m in enumerate(WORD_RE.finditer(stripped)):
        word = m.group(0).replace("’", "'")
        acronym = len(word) >= 2 and word.isupper()
        if acronym:
            key = word.lower()  # "US", "EU": keep even when the lower form is a stopword
        else:
            key = re.sub(r"'s$", "", word.lower())
            if len(key) < 2 or key in SUPPORT_STOPWORDS:
                run = None
                continue
            key = light_stem(MONTHS.get(key, key))
        words.add(key)
        # Acronyms are often spelled out in the article ("APEC"), so they are not names.
        if not word[0].isupper() or acronym:
            run = None
            continue
        if run is not None and not stripped[run_end : m.start()].strip():
            run.add(key)
        else:
            run = {key}
            runs.append((index, run))
        run_end = m.end()
    # A lone capitalised first word is just the start of the sentence.
    names = frozenset(frozenset(r) for start, r in runs if start > 0 or len(r) > 1)
    return Profile(frozenset(words), numbers, names, places_in(text))


def content_words(text: str) -> frozenset[str]:
    """The stemmed content words and normalised numbers of `text` (what support counts)."""
    found = profile(text)
    return found.words | found.numbers


def name_words(text: str) -> frozenset[frozenset[str]]:
    """The runs of capitalised words of `text` ("Xi Jinping"), each a set of stemmed words."""
    return profile(text).names


def word_found(word: str, words: frozenset[str]) -> bool:
    """Is `word` (stemmed) among `words`, allowing for derived forms ("China"/"Chinese")?"""
    if word in words:
        return True
    # "threat"/"threaten", "Australia"/"Australian", "China"/"Chinese": the stems share all
    # but the last two letters of the shorter one, and at least four.
    return len(word) >= 4 and any(
        len(w) >= 4 and _common_prefix(word, w) >= max(4, min(len(word), len(w)) - 2) for w in words
    )


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
