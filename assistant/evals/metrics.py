"""Metric names and the pure functions that score one answer.

Answer metrics compare an answer with its gold aliases after `normalize_answer` (SQuAD style)
or `semantic_normalize` (numbers, dates and currencies in one spelling); citation metrics follow
ALCE; retrieval metrics look for the first gold article among the ranked hits. Every function
here is pure: no model, store or file (the embeddings and the support judge are passed in).
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING

from assistant.errors import SuiteError
from assistant.types import Citation

if TYPE_CHECKING:
    import numpy


# --- metric names ---------------------------------------------------------------------------

ANSWER_METRICS: tuple[str, ...] = (
    "answer_exact",
    "answer_f1",
    "answer_contains_gold",
    "answer_semantic_match",
    "answer_similarity",
    "answer_judge",
)
CONFLICT_METRICS: tuple[str, ...] = ("conflict_surfaced_rate",)
CITATION_METRICS: tuple[str, ...] = (
    "citation_precision",
    "citation_recall",
    "citation_support",
)
RETRIEVAL_DEPTHS: tuple[int, ...] = (10, 20)
"""Passage depths a retrieval-only run also scores recall at (`retrieval_recall_at_<n>`)."""
RETRIEVAL_METRICS: tuple[str, ...] = (
    "retrieval_recall_at_k",
    "mrr",
    *(f"retrieval_recall_at_{n}" for n in RETRIEVAL_DEPTHS),
)
ABSTENTION_METRICS: tuple[str, ...] = (
    "abstention_rate",
    "false_abstention_rate",
    "abstention_precision",
)
LATENCY_METRICS: tuple[str, ...] = (
    "latency_ms_p50",
    "latency_ms_p95",
    "retrieve_ms_p50",
    "retrieve_ms_p95",
    "generate_ms_p50",
    "generate_ms_p95",
)
TOKEN_METRICS: tuple[str, ...] = (
    "prompt_tokens_p50",
    "prompt_tokens_mean",
    "completion_tokens_mean",
)
METRICS: tuple[str, ...] = (
    ANSWER_METRICS
    + CONFLICT_METRICS
    + CITATION_METRICS
    + RETRIEVAL_METRICS
    + ABSTENTION_METRICS
    + LATENCY_METRICS
    + TOKEN_METRICS
)
"""Every metric a report carries, in display order."""

LOWER_IS_BETTER: frozenset[str] = frozenset(
    {"false_abstention_rate", *LATENCY_METRICS, *TOKEN_METRICS}
)
"""Metrics where a smaller value is better; `--fail-under` treats them as upper bounds."""

_PER_CASE_METRICS: tuple[str, ...] = ANSWER_METRICS + CITATION_METRICS + RETRIEVAL_METRICS
_CONFLICT_SCORE = "conflict_surfaced"  # per-case score behind `conflict_surfaced_rate`
_OPTIONAL_METRICS: tuple[str, ...] = ("answer_judge", *CONFLICT_METRICS)


def _parse_spec(spec: str) -> tuple[str, float]:
    """A gate `metric=value` as (metric, bound); the metric is one of `METRICS`."""
    name, sep, value = spec.partition("=")
    name = name.strip()
    if not sep:
        raise SuiteError(f"fail-under '{spec}' is not metric=value")
    if name not in METRICS:
        raise SuiteError(
            f"fail-under '{spec}': unknown metric '{name}' (metrics: {', '.join(METRICS)})"
        )
    try:
        number = float(value)
    except ValueError as err:
        raise SuiteError(f"fail-under '{spec}': '{value.strip()}' is not a number") from err
    if math.isnan(number):
        raise SuiteError(f"fail-under '{spec}': NaN is not a threshold")
    return name, number


# --- text normalisation and answer metrics --------------------------------------------------

_MARKER_RE = re.compile(r"\[\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*\]")
_QUOTE_TABLE = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "‘": "'",
        "’": "'",
        "‚": "'",
        "′": "'",
        "`": "'",
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
    }
)
_CURRENCY = {"$": "dollars", "£": "pounds", "€": "euros", "¥": "yen"}
_CURRENCY_RE = re.compile(
    r"([$£€¥])\s?(\d[\d,]*(?:\.\d+)?)(\s*(?:thousand|million|billion|trillion)\b)?"
)
_PERCENT_RE = re.compile(r"(\d)\s?%")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
_SPACE_PUNCT_RE = re.compile(r"[-/_\\]")
_DECIMAL_RE = re.compile(r"(?<=\d)\.(?=\d)")
_ARTICLES_RE = re.compile(r"\b(?:a|an|the)\b")
_ALNUM_RE = re.compile(r"\w")
_DOT = "\ue000"  # private-use char keeps decimal points through punctuation removal


def strip_markers(text: str) -> str:
    """Remove `[n]` citation markers so they do not count as answer tokens."""
    return _MARKER_RE.sub(" ", text)


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation plus unicode quotes, currency and percent spellings.

    Lower-cases, folds unicode quotes and dashes, rewrites `$5` as `5 dollars` and `100%` as
    `100 percent`, drops thousands separators, removes punctuation (dashes and slashes become
    spaces; decimal points between digits stay), drops the articles a/an/the and collapses
    whitespace.
    """
    s = unicodedata.normalize("NFKC", text).translate(_QUOTE_TABLE).lower()
    s = strip_markers(s)
    s = _THOUSANDS_RE.sub("", s)
    s = _CURRENCY_RE.sub(lambda m: f" {m[2]}{m[3] or ''} {_CURRENCY[m[1]]} ".replace(",", ""), s)
    s = _PERCENT_RE.sub(r"\1 percent", s).replace("per cent", "percent")
    s = _SPACE_PUNCT_RE.sub(" ", s)
    s = _DECIMAL_RE.sub(_DOT, s)
    s = "".join(ch for ch in s if ch == _DOT or ch.isspace() or ch.isalnum())
    s = s.replace(_DOT, ".")
    s = _ARTICLES_RE.sub(" ", s)
    return " ".join(s.split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised texts are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between the normalised texts."""
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred)
    recall = overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains_gold(prediction: str, gold: str) -> float:
    """1.0 when the normalised gold appears in the normalised prediction on word boundaries."""
    ref = normalize_answer(gold)
    if not ref:
        return 0.0
    return float(f" {ref} " in f" {normalize_answer(prediction)} ")


# Semantic canonical form, on top of `normalize_answer`'s tokens: number words and ordinals
# become digits, scale words multiply ("3 million" = 3000000), month abbreviations become month
# names and a day before its month moves after it ("1 november" = "november 1").
_UNITS: dict[str, int] = {
    word: n
    for n, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS: dict[str, int] = {
    word: 10 * n
    for n, word in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2
    )
}
_ORDINALS: dict[str, int] = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fifth": 5,
    "eighth": 8,
    "ninth": 9,
    "twelfth": 12,
    **{f"{w}th": n for w, n in _UNITS.items() if n in (4, 6, 7, 10, 11, *range(13, 20))},
    **{f"{w[:-1]}ieth": n for w, n in _TENS.items()},
}
_SCALES: dict[str, int] = {
    "thousand": 10**3,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_MONTH_NAMES: frozenset[str] = frozenset(m.lower() for m in calendar.month_name[1:])
_MONTHS: dict[str, str] = {
    **{m[:3]: m for m in _MONTH_NAMES if m != "may"},
    "sept": "september",
}
_SYNONYMS: dict[str, str] = {
    "dollar": "dollars",
    "usd": "dollars",
    "pound": "pounds",
    "euro": "euros",
    "pct": "percent",
}
_NUMBER_TOKEN_RE = re.compile(r"\d+(?:\.\d+)?")
_ORDINAL_TOKEN_RE = re.compile(r"(\d+)(?:st|nd|rd|th)")


def _number_word(token: str) -> int | None:
    """The value of a cardinal or ordinal number word (`five`, `twenty`, `first`), else None."""
    for table in (_UNITS, _TENS, _ORDINALS):
        if token in table:
            return table[token]
    return None


def _can_add(current: int, value: int, last_was_tens: bool) -> bool:
    """Whether `value` continues the spelled number so far ("twenty" + "five", not "five two")."""
    if current == 0:
        return True
    if value < 10 and last_was_tens:
        return True
    return current % 100 == 0 and current > 0 and value < 100


def _format_number(value: float) -> str:
    value = round(value, 6)
    return str(int(value)) if value == int(value) else f"{value:.6f}".rstrip("0").rstrip(".")


def _read_number(tokens: list[str], i: int) -> tuple[str, int] | None:
    """A number starting at `tokens[i]` (digits or words, with scales): (digits, next index)."""
    token = tokens[i]
    digits = _NUMBER_TOKEN_RE.fullmatch(token) or _ORDINAL_TOKEN_RE.fullmatch(token)
    if digits:
        amount = float(digits[1] if digits.re is _ORDINAL_TOKEN_RE else digits[0])
        j = i + 1
        if j < len(tokens) and tokens[j] in _SCALES:
            amount *= _SCALES[tokens[j]]
            j += 1
        return _format_number(amount), j
    if _number_word(token) is None:
        return None
    total, current, j, last_tens = 0, 0, i, False
    while j < len(tokens):
        word = tokens[j]
        value = _number_word(word)
        if value is not None and _can_add(current, value, last_tens):
            current += value
            last_tens = word in _TENS
        elif (
            word == "and"
            and (current or total)
            and current % 100 == 0
            and j + 1 < len(tokens)
            and (_number_word(tokens[j + 1]) or 100) < 100
        ):
            pass  # "one hundred and five"
        elif word == "hundred" and 0 < current < 100:
            current *= 100
            last_tens = False
        elif word in _SCALES and (current or total) and current < 1000:
            total += current * _SCALES[word]
            current, last_tens = 0, False
        else:
            break
        j += 1
    return _format_number(total + current), j


def semantic_normalize(text: str) -> str:
    """`normalize_answer`, then numbers, dates and units in one canonical spelling.

    Accents are dropped ("Pogačar" = "Pogacar"). "$5", "five dollars" and "5 dollars" become
    `5 dollars`; "Nov. 1", "November 1st" and "1 November" become `november 1`; "3 million" and
    "3,000,000" become `3000000`; "twenty-five" becomes `25`; "first" and "1st" become `1`;
    `pct` and `per cent` become `percent`.
    """
    folded = "".join(
        ch
        for ch in unicodedata.normalize("NFKD", normalize_answer(text))
        if not unicodedata.combining(ch)
    )
    tokens = [_SYNONYMS.get(t, _MONTHS.get(t, t)) for t in folded.split()]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        number = _read_number(tokens, i)
        if number is None:
            out.append(tokens[i])
            i += 1
            continue
        out.append(number[0])
        i = number[1]
        # a day before its month moves after it: "1 (of) november" -> "november 1"
        j = i + 1 if i < len(tokens) and tokens[i] == "of" else i
        if j < len(tokens) and tokens[j] in _MONTH_NAMES and len(number[0]) <= 2:
            out[-1:] = [tokens[j], number[0]]
            i = j + 1
    return " ".join(out)


def semantic_match(prediction: str, gold: str) -> float:
    """1.0 when the canonical gold occurs in the canonical prediction on word boundaries.

    Both sides go through `semantic_normalize`, so a paraphrased number, date, currency or
    percentage still matches while a different number or name does not.
    """
    ref = semantic_normalize(gold)
    if not ref:
        return 0.0
    return float(f" {ref} " in f" {semantic_normalize(prediction)} ")


def _mentions(text: str, phrase: str, others: Iterable[str]) -> bool:
    """Whether canonical `phrase` occurs in `text` outside every longer `others` containing it."""
    padded = f" {text} "
    for other in others:
        if other != phrase and f" {phrase} " in f" {other} ":
            padded = padded.replace(f" {other} ", "  ")
    return f" {phrase} " in padded


def conflict_surfaced(
    prediction: str, aliases: Sequence[str], conflicting: Sequence[str]
) -> float | None:
    """1.0 when the answer names both a gold alias and a conflicting value, else 0.0.

    Containment after `semantic_normalize`; a value that only occurs inside the other side's
    phrase ("Tampa" inside a conflicting "Tampa Bay") does not count. None without conflicting
    values; an empty prediction (an abstention) scores 0.0.
    """
    if not conflicting:
        return None
    text = semantic_normalize(prediction)
    golds = [g for g in (semantic_normalize(a) for a in aliases) if g]
    wrongs = [w for w in (semantic_normalize(c) for c in conflicting) if w]
    names_gold = any(_mentions(text, g, wrongs) for g in golds)
    names_wrong = any(_mentions(text, w, golds) for w in wrongs)
    return float(names_gold and names_wrong)


def best_alias_score(
    prediction: str, aliases: Sequence[str], metric: Callable[[str, str], float]
) -> float:
    """The best score of `prediction` against any gold alias (0.0 with no aliases)."""
    return max((metric(prediction, alias) for alias in aliases), default=0.0)


def answer_similarity(
    prediction: str, aliases: Sequence[str], embed: Callable[[list[str]], numpy.ndarray]
) -> float:
    """Highest cosine similarity between the answer and a gold alias (embeddings via `embed`)."""
    if not prediction.strip() or not aliases:
        return 0.0
    import numpy as np

    vectors = np.asarray(embed([prediction, *aliases]), dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    sims = vectors[1:] @ vectors[0]
    return float(max(0.0, min(1.0, float(sims.max()))))


# --- citation metrics -----------------------------------------------------------------------


@dataclass(frozen=True)
class CitationChecker:
    """The text functions that judge citations (from `assistant.citations`, or fakes in tests).

    Attributes:
        support: `support(claim, passage_sentence) -> float`, higher is better supported.
        threshold: Support at or above this counts as supported.
        claims: Splits an answer into `(sentence, [marker numbers])` pairs.
        passage: What a citation is judged against; its quote by default, the library's
            checker reads it under its article's headline, as the reader sees it.
    """

    support: Callable[[str, str], float]
    threshold: float
    claims: Callable[[str], list[tuple[str, list[int]]]]
    passage: Callable[[Citation], str] = attrgetter("quote")

    @classmethod
    def from_library(cls) -> CitationChecker:
        """The checker the assistant itself uses to verify citations."""
        from assistant import citations

        def claims(text: str) -> list[tuple[str, list[int]]]:
            return [(c.text, [int(m) for m in c.markers]) for c in citations.parse_markers(text)]

        return cls(
            support=citations.support_score,
            threshold=float(citations.SUPPORT_THRESHOLD),
            claims=claims,
            passage=citations.under_headline,
        )


@dataclass(frozen=True)
class CitationScores:
    """ALCE-style citation scores of one answer; `None` when there is nothing to score."""

    precision: float | None
    recall: float | None
    valid: list[bool]
    support: list[float]
    supported: float | None = None  # share of citations whose quote supports, any article


def score_citations(
    text: str,
    citations: Sequence[Citation],
    gold_article_ids: Sequence[str],
    checker: CitationChecker,
) -> CitationScores:
    """Citation precision and recall of one answer, in the sense of ALCE (Gao et al., 2023).

    A citation is valid when its quote (`checker.passage`: read under its article's headline,
    which the reader sees above it) supports a sentence that cites it (support at or above the
    checker's threshold) and, when gold articles are given, comes from one of them.
    Precision is the share of citations that are valid (None without citations); recall is the
    share of substantive answer sentences backed by at least one valid citation (None when the
    answer has no sentence with a letter or digit in it).
    """
    gold = set(gold_article_ids)
    claims = [(" ".join(strip_markers(t).split()), set(m)) for t, m in checker.claims(text)]
    claims = [(t, m) for t, m in claims if _ALNUM_RE.search(t)]
    cache: dict[tuple[int, int], float] = {}

    def support_of(claim_index: int, citation_index: int) -> float:
        key = (claim_index, citation_index)
        if key not in cache:
            claim, quote = claims[claim_index][0], checker.passage(citations[citation_index])
            cache[key] = float(checker.support(claim, quote))
        return cache[key]

    def backs(claim_index: int, citation_index: int) -> bool:
        citation = citations[citation_index]
        if gold and citation.article_id not in gold:
            return False
        return support_of(claim_index, citation_index) >= checker.threshold

    valid: list[bool] = []
    support: list[float] = []
    for ci, citation in enumerate(citations):
        citing = [i for i, (_, markers) in enumerate(claims) if citation.n in markers]
        valid.append(any(backs(i, ci) for i in citing))
        support.append(max((support_of(i, ci) for i in citing), default=0.0))
    backed = [
        any(backs(i, ci) for ci, c in enumerate(citations) if c.n in markers)
        for i, (_, markers) in enumerate(claims)
    ]
    precision = sum(valid) / len(valid) if valid else None
    recall = sum(backed) / len(backed) if backed else None
    held = [s >= checker.threshold for s in support]
    supported = sum(held) / len(held) if held else None
    return CitationScores(
        precision=precision, recall=recall, valid=valid, support=support, supported=supported
    )


def retrieval_scores(
    retrieved_article_ids: Sequence[str], gold_article_ids: Sequence[str]
) -> tuple[float | None, float | None]:
    """(recall@k, reciprocal rank) of the first gold article among the ranked hits.

    Both are None when the case names no gold article.
    """
    gold = set(gold_article_ids)
    if not gold:
        return None, None
    for rank, article_id in enumerate(retrieved_article_ids, start=1):
        if article_id in gold:
            return 1.0, 1.0 / rank
    return 0.0, 0.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100.0
    lower = math.floor(pos)
    upper = min(lower + 1, len(data) - 1)
    return data[lower] + (data[upper] - data[lower]) * (pos - lower)
