"""Partial answers: splitting questions into parts and finding the parts an answer leaves open."""

from __future__ import annotations

import pytest

from assistant.partial import question_parts, uncovered_parts, uncovered_sentence

TARIFF = "Trump threatened an additional 100% tariff on Chinese goods."


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("What tariff did Trump threaten?", ["What tariff did Trump threaten"]),
        (
            "Who won the election, and when will the new president take office?",
            ["Who won the election", "when will the new president take office"],
        ),
        ("How many died? Where did it happen?", ["How many died", "Where did it happen"]),
        ("What did Alice and Bob sign?", ["What did Alice and Bob sign"]),
        (
            "Why did China respond but what did it say?",
            ["Why did China respond", "what did it say"],
        ),
    ],
)
def test_question_parts(question: str, parts: list[str]) -> None:
    assert question_parts(question) == parts


def test_single_part_question_is_never_flagged() -> None:
    assert uncovered_parts("When did the summit take place?", [TARIFF]) == []


def test_missing_date_part_is_flagged() -> None:
    q = "What tariff did Trump threaten, and when will the APEC summit take place?"
    assert uncovered_parts(q, [TARIFF]) == ["when will the APEC summit take place"]
    both = [TARIFF, "The APEC summit takes place on Oct. 31 in South Korea."]
    assert uncovered_parts(q, both) == []


def test_missing_name_and_number_parts_are_flagged() -> None:
    q = "Who leads the trade talks and what tariff did Trump threaten?"
    assert uncovered_parts(q, [TARIFF]) == ["Who leads the trade talks"]
    assert uncovered_parts(q, [TARIFF, "Scott Bessent leads the trade talks."]) == []
    q2 = "What did Trump threaten and how many rare earth elements does China control?"
    assert uncovered_parts(q2, [TARIFF]) == ["how many rare earth elements does China control"]


def test_part_whose_own_words_are_absent_is_flagged() -> None:
    q = "What tariff did Trump threaten and why did soybean farmers protest?"
    assert uncovered_parts(q, [TARIFF]) == ["why did soybean farmers protest"]


def test_nothing_supported_is_not_a_partial_answer() -> None:
    q = "What tariff did Trump threaten and when is the summit?"
    assert uncovered_parts(q, []) == []


def test_all_parts_open_is_left_to_verification() -> None:
    q = "Who hosts the summit and when is it?"
    assert uncovered_parts(q, ["prices fell sharply."]) == []


def test_uncovered_sentence_quotes_each_part() -> None:
    text = uncovered_sentence(["when is the summit", "who hosts it?"])
    assert text == (
        "The articles do not answer this part of the question: “when is the summit?”; "
        "“who hosts it?”"
    )


# --- does the answer answer the question at all ---------------------------------------------


def test_answer_kind_reads_the_asking_clause() -> None:
    from assistant.partial import answer_kind

    assert answer_kind("Police arrested 31 men this week. Where was the event?") == "name"
    assert answer_kind("Which automaker recalled 2.9 million vehicles?") == "name"
    assert answer_kind("How much did the bidder pay?") == "number"
    assert answer_kind("When will the summit start?") == "date"
    assert answer_kind("What did the IRS announce?") is None


def test_a_true_sentence_without_the_asked_kind_is_no_answer() -> None:
    from assistant.partial import answers_question

    q = "Who acquired WhatsApp?"
    said = ["The messaging app has more than two billion users."]
    assert not answers_question(q, said, ["WhatsApp has more than two billion users."])
    named = ["Facebook acquired WhatsApp in 2014 for $19 billion."]
    assert answers_question(q, named, named)


def test_the_questions_numbers_must_be_in_the_sources() -> None:
    from assistant.partial import answers_question

    q = "Where was the Super Bowl 2021 held?"
    wrong = ["Super Bowl LVIII will be held in Las Vegas."]
    assert not answers_question(q, wrong, wrong)
    right = ["Super Bowl 2021 was held in Tampa, Florida."]
    assert answers_question(q, right, right)


def test_an_answer_sharing_too_few_of_the_questions_words_is_no_answer() -> None:
    from assistant.partial import answers_question

    q = "Which country banned rainbow-colored toys, saying they promote homosexuality?"
    off = ["Germany exported more cars to China than ever before."]
    assert not answers_question(q, off, off)
    on = ["Saudi Arabia seized rainbow-colored toys, saying they promote homosexuality."]
    assert answers_question(q, on, on)


def test_nothing_supported_answers_nothing() -> None:
    from assistant.partial import answers_question

    assert not answers_question("What tariff did Trump threaten?", [], [TARIFF])


def test_an_answer_restating_the_question_is_judged_on_its_sources() -> None:
    from assistant.partial import answers_question

    q = "Who won the women's singles title at Wimbledon in 2019?"
    said = ["Serena Williams won the women's singles title at Wimbledon in 2019."]
    assert not answers_question(q, said, ["Serena Williams won her seventh Wimbledon in 2016."])
    assert answers_question(
        q, said, ["Serena Williams won the women's singles at Wimbledon in 2019."]
    )


def test_a_many_part_question_answered_in_part_passes_the_check() -> None:
    from assistant.partial import answers_question

    q = "What tariff did Trump threaten on Chinese goods, and who won the 2022 World Cup?"
    assert answers_question(q, [TARIFF], [TARIFF])


def test_an_answer_about_another_year_is_no_answer() -> None:
    from assistant.partial import answers_question

    q = "Who won the men's singles U.S. Open in 2020?"
    sources = ["Osaka, the 2018 U.S. Open women's singles champion, won again in 2020."]
    assert not answers_question(q, ["Osaka won the men's singles U.S. Open in 2018."], sources)
    assert answers_question(q, ["Osaka won the men's singles U.S. Open in 2020."], sources)
    # an answer that names no year is judged on its words and sources as before
    assert answers_question(q, ["Osaka won the men's singles U.S. Open."], sources)


def test_a_place_the_question_names_must_be_in_the_sources() -> None:
    from assistant.partial import answers_question

    q = "What critically endangered bird was spotted in Papua New Guinea for the first time?"
    delaware = [
        "A rare critically endangered butterfly was spotted in Delaware for the first time "
        "in decades."
    ]
    assert not answers_question(q, delaware, delaware)
    png = [
        "The black-naped pheasant-pigeon, a critically endangered bird, was spotted in "
        "Papua New Guinea for the first time in 140 years."
    ]
    assert answers_question(q, png, png)
    # the United States is not required: US news seldom names it, and the U.S. Open is an event
    open_ = ["Daniil Medvedev won the men's singles title at the 2021 Open in New York."]
    assert answers_question("Who won the men's singles U.S. Open 2021?", open_, open_)
