"""Unit tests of assistant.text: the words, stems and numbers retrieval and support count.

The pinned values were taken from the modules that kept their own lists before `text.py`
(`retrieve`, `citations`, `partial`): a failure here means retrieval or support results change.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant.text import (
    FUNCTION_WORDS,
    QUESTION_STOPWORDS,
    RETRIEVAL_STOPWORDS,
    SUPPORT_STOPWORDS,
    bm25_tokens,
    content_words,
    light_stem,
    mentions_date,
    mentions_number,
    name_words,
    number_found,
    number_keys,
    profile,
    question_terms,
    snowball_stem,
    word_found,
)

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_0f8c7ba43273ca44.txt"


def _digest(words: frozenset[str]) -> str:
    return hashlib.sha256(" ".join(sorted(words)).encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    ("words", "size", "digest"),
    [
        (RETRIEVAL_STOPWORDS, 116, "7dfcc71a98ac8ed8"),
        (SUPPORT_STOPWORDS, 209, "1ffe3168e01c736b"),
        (QUESTION_STOPWORDS, 113, "79a7ba3a4a7fd376"),
    ],
)
def test_each_stopword_set_is_pinned(words: frozenset[str], size: int, digest: str) -> None:
    assert len(words) == size
    assert _digest(words) == digest


def test_the_stopword_sets_differ_where_their_use_needs() -> None:
    assert FUNCTION_WORDS < RETRIEVAL_STOPWORDS and FUNCTION_WORDS < SUPPORT_STOPWORDS
    extra = RETRIEVAL_STOPWORDS - SUPPORT_STOPWORDS
    assert extra == {"don", "s", "t"}
    # the model's attribution filler claims nothing, but a searcher may well type "report"
    assert {"according", "article", "reported"} <= SUPPORT_STOPWORDS - RETRIEVAL_STOPWORDS
    # a question's own wording goes; the words that narrow it stay
    assert {"many", "much", "whose", "tell"} <= QUESTION_STOPWORDS
    assert not {"before", "during", "against"} & QUESTION_STOPWORDS


def test_bm25_tokens_keep_amounts_whole_and_stem_words() -> None:
    text = "Trump's 100% tariff on $8.5 billion: 1,000 recalled cars, the U.S. said"
    assert bm25_tokens(text) == [
        "trump",
        "100%",
        "tariff",
        "$8.5",
        "billion",
        "1,000",
        "recal",
        "car",
        "u.s",
    ]
    assert bm25_tokens("Recalls don’t stop; it's running") == ["recal", "don't", "stop", "run"]


def test_bm25_tokens_of_the_seed_article_are_pinned() -> None:
    # A built lexical index and the retrieval figures depend on these tokens byte for byte.
    tokens = bm25_tokens(SEED.read_text(encoding="utf-8"))
    assert len(tokens) == 303
    assert hashlib.sha256("\n".join(tokens).encode()).hexdigest()[:16] == "24ce484f8bb6c03f"


def test_snowball_stem_leaves_numbers_and_amounts() -> None:
    assert [snowball_stem(w) for w in ("recalled", "8.5", "$6", "100%")] == [
        "recal",
        "8.5",
        "$6",
        "100%",
    ]


def test_light_stem_meets_plural_past_and_ing_forms() -> None:
    words = "imposed imposes stopping cities studied passes status threatened"
    assert [light_stem(w) for w in words.split()] == [
        "impos",
        "impos",
        "stop",
        "city",
        "study",
        "pass",
        "status",
        "threaten",
    ]


def test_number_keys_normalise_units_separators_and_decimals() -> None:
    text = "$8.5 billion, 100 percent, 1,000 cars, 2.50 and 7 per cent"
    assert number_keys(text) == {"8.5b", "100%", "1000", "2.5", "7%"}
    assert number_keys("100%") == number_keys("100 percent")


def test_number_found_lets_a_bare_number_meet_its_unit() -> None:
    assert number_found("8.5", frozenset({"8.5b"}))
    assert number_found("100", frozenset({"100%"}))
    assert not number_found("8", frozenset({"8.5b"}))
    assert not number_found("8.5b", frozenset({"8.5"}))


def test_content_words_drop_filler_spell_months_and_keep_numbers() -> None:
    claim = "According to the article, Trump threatened a 100 percent tariff by Nov. 1"
    assert content_words(claim) == {"trump", "threaten", "100%", "tarif", "november", "1"}


def test_profile_reads_names_and_acronyms() -> None:
    names = name_words("Trump met Xi Jinping and South Korea's Lee Jae Myung in the U.S.")
    assert names == {
        frozenset({"xi", "jinp"}),
        frozenset({"south", "korea", "lee", "jae", "myung"}),
    }
    found = profile("U.S. officials met EU leaders")
    assert found.words == {"us", "official", "met", "eu", "leader"}
    assert found.names == frozenset()  # acronyms are often spelled out, so they are no names


def test_word_found_allows_derived_forms() -> None:
    assert word_found("china", frozenset({"chines"}))
    assert word_found("threat", frozenset({"threaten"}))
    assert not word_found("tin", frozenset({"tiny"}))


def test_question_terms_drop_the_question_wording() -> None:
    assert question_terms("How many people did Trump's team meet in 2025?") == {
        "peopl",
        "trump",
        "team",
        "meet",
        "2025",
    }


@pytest.mark.parametrize(
    ("text", "date", "number"),
    [
        ("It starts on Nov. 1", True, True),
        ("They met in May", True, False),
        ("They may meet", False, False),
        ("Three people died", False, True),
        ("It happened two weeks ago at 10:30", True, True),
    ],
)
def test_mentions_date_and_number(text: str, date: bool, number: bool) -> None:
    assert mentions_date(text) is date
    assert mentions_number(text) is number


def test_places_are_named_by_key_with_demonyms_and_whole_words_only() -> None:
    from assistant.places import COUNTRIES, places_in

    assert places_in("U.S. and Chinese officials met in South Korea") == {
        "United States",
        "China",
        "South Korea",
    }
    assert places_in("floods in West Virginia") == {"West Virginia"}  # not Virginia
    # first names, a pole and a prefix are not places
    assert places_in("Chad Smith and Michael Jordan flew from Malibu to the North Pole") == set()
    assert places_in("a USB stick") == set()
    assert "Kentucky" not in COUNTRIES and "Malaysia" in COUNTRIES
