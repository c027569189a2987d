"""Unit tests of the eval runner: suite parsing, every metric, gates, comparison and reports."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.config import Settings
from assistant.errors import InputError, ModelError, SuiteError
from assistant.evals import (
    METRICS,
    CitationChecker,
    EvalReport,
    aggregate,
    answer_similarity,
    check_fail_under,
    compare_reports,
    conflict_surfaced,
    contains_gold,
    exact_match,
    load_suite,
    normalize_answer,
    percentile,
    render_summary,
    retrieval_scores,
    run_suite,
    score_citations,
    semantic_match,
    semantic_normalize,
    token_f1,
    write_reports,
)
from assistant.types import Answer, Article, Chunk, Citation, Hit, IngestReport

ROOT = Path(__file__).resolve().parents[2]
GOLD = "art-gold"


# --- fakes ----------------------------------------------------------------------------------


def _fake_claims(text: str) -> list[tuple[str, list[int]]]:
    """Sentences ending in '.', each with the [n] markers inside it."""
    out = []
    for sentence in re.findall(r"[^.]+\.(?:\s*\[\d+\])*", text):
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        out.append((re.sub(r"\[\d+\]", "", sentence).strip(), markers))
    return out


def _fake_support(claim: str, passage: str) -> float:
    """Share of the claim's words found in the passage."""
    words = set(re.findall(r"\w+", claim.lower()))
    found = set(re.findall(r"\w+", passage.lower()))
    return len(words & found) / len(words) if words else 0.0


FAKE_CHECKER = CitationChecker(support=_fake_support, threshold=0.6, claims=_fake_claims)


def _embed_bag(texts: list[str]) -> np.ndarray:
    """Deterministic unit vectors from hashed words: same words, same vector."""
    rows = np.zeros((len(texts), 64))
    for i, text in enumerate(texts):
        for word in normalize_answer(text).split():
            rows[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


def _citation(n: int, quote: str, article_id: str = GOLD) -> Citation:
    return Citation(
        n=n,
        article_id=article_id,
        title=f"Title of {article_id}",
        chunk_id=f"{article_id}:0",
        quote=quote,
        start=0,
        end=len(quote),
    )


def _hit(article_id: str, rank: int) -> Hit:
    chunk = Chunk(
        id=f"{article_id}:{rank}", article_id=article_id, index=0, text="x", start=0, end=1
    )
    return Hit(chunk=chunk, score=1.0 / rank, dense=0.5)


class FakeAssistant:
    """The Assistant interface with canned answers keyed by question."""

    def __init__(
        self,
        settings: Settings,
        answers: Mapping[str, Answer | Exception] | None = None,
        articles: Iterable[str] = (),
    ) -> None:
        self.settings = settings
        self.answers = answers or {}
        self.articles = set(articles)
        self.asked: list[tuple[str, date | None]] = []
        self.ingested: list[list[Path]] = []
        self.derived: list[dict[str, Any]] = []

    def derive(self, **overrides: Any) -> FakeAssistant:
        self.derived.append(overrides)
        child = FakeAssistant(
            self.settings.model_copy(update=overrides), self.answers, self.articles
        )
        child.asked = self.asked
        child.ingested = self.ingested
        child.derived = self.derived
        return child

    def ingest(self, paths: Iterable[str | Path], *, progress: bool = False) -> IngestReport:
        files = [Path(p) for p in paths]
        self.ingested.append(files)
        ids = []
        for path in files:
            if path.suffix == ".jsonl":
                rows = [json.loads(line) for line in path.read_text().splitlines()]
                ids += [str(r.get("doc_id") or r.get("id")) for r in rows]
            else:
                ids.append(path.stem)
        return IngestReport(added=ids, chunks=len(ids))

    def ask(
        self,
        question: str,
        history: list[tuple[str, str]] | None = None,
        *,
        k: int | None = None,
        as_of: date | None = None,
    ) -> Answer:
        self.asked.append((question, as_of))
        found = self.answers.get(question)
        if isinstance(found, Exception):
            raise found
        if found is None:
            return Answer(question=question, text="The articles do not say.", abstained=True)
        return found

    def embed(self, texts: list[str]) -> np.ndarray:
        return _embed_bag(texts)

    def article(self, article_id: str) -> Article:
        if article_id not in self.articles:
            raise InputError(f"no article with id '{article_id}'")
        return Article(id=article_id, title="t", text="text")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "user-store", evaldata_dir=tmp_path / "evaldata")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    return _write(path, "".join(json.dumps(r) + "\n" for r in rows))


# --- normalisation and answer metrics -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“Squid Game”", "squid game"),
        ("‘Squid Game’", "squid game"),
        ("The Squid Game!", "squid game"),
        ("$5", "5 dollars"),
        ("5 dollars", "5 dollars"),
        ("100%", "100 percent"),
        ("100 per cent", "100 percent"),
        ("$8.5 billion", "8.5 billion dollars"),
        ("$1,200", "1200 dollars"),
        ("Lee Jae-myung", "lee jae myung"),
        ("China’s grip", "chinas grip"),
        ("U.S.", "us"),
        ("an additional tariff [1].", "additional tariff"),
        ("", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def test_exact_match_ignores_case_articles_punctuation_and_unicode_quotes() -> None:
    assert exact_match("the Squid Game.", "“Squid Game”") == 1.0
    assert exact_match("$5", "5 dollars") == 1.0
    assert exact_match("Squid Game 2", "Squid Game") == 0.0


def test_token_f1_partial_overlap() -> None:
    assert token_f1("the Squid Game show", "“Squid Game”") == pytest.approx(0.8)
    assert token_f1("Friends", "Squid Game") == 0.0
    assert token_f1("", "Squid Game") == 0.0


def test_contains_gold_respects_word_boundaries() -> None:
    assert contains_gold("Trump threatened an extra 100% tariff [1].", "100 percent") == 1.0
    assert contains_gold("It costs $15.", "$5") == 0.0
    assert contains_gold("It costs 5 dollars.", "$5") == 1.0
    assert contains_gold("anything", "the") == 0.0  # gold that normalises to nothing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$5", "5 dollars"),
        ("five dollars", "5 dollars"),
        ("5 dollar", "5 dollars"),
        ("$5.00", "5 dollars"),
        ("Nov. 1", "november 1"),
        ("November 1st", "november 1"),
        ("1 November", "november 1"),
        ("the 1st of November, 2022", "november 1 2022"),
        ("Sept 7", "september 7"),
        ("first", "1"),
        ("twenty-five", "25"),
        ("twenty first", "21"),
        ("3 million", "3000000"),
        ("3,000,000", "3000000"),
        ("three million", "3000000"),
        ("$10.4 billion", "10400000000 dollars"),
        ("one hundred and five", "105"),
        ("fifty per cent", "50 percent"),
        ("50 pct", "50 percent"),
        ("“Squid Game”", "squid game"),
        ("Tadej Pogačar", "tadej pogacar"),
        ("five six", "5 6"),  # two numbers, not 11
        ("", ""),
    ],
)
def test_semantic_normalize(text: str, expected: str) -> None:
    assert semantic_normalize(text) == expected


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [
        ("It costs five dollars [1].", "$5"),
        ("It costs 5 dollars.", "$5"),
        ("It opens on November 1.", "Nov. 1"),
        ("It opens on 1 November.", "November 1"),
        ("She came first.", "1st"),
        ("Two people were hurt.", "2"),
        ("It raised twenty-five million dollars.", "$25 million"),
        ("About 3,000,000 people.", "3 million"),
        ("Prices rose 8 per cent.", "8%"),
        ("It was Tadej Pogacar.", "Tadej Pogačar"),
    ],
)
def test_semantic_match_accepts_paraphrase(prediction: str, gold: str) -> None:
    assert semantic_match(prediction, gold) == 1.0


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [
        ("It costs fifteen dollars.", "$5"),
        ("It costs $50.", "$5"),
        ("It opens on November 11.", "Nov. 1"),
        ("It opens on December 1.", "November 1"),
        ("She came second.", "1st"),
        ("About 30 million people.", "3 million"),
        ("It was $1.39 billion.", "$10.4 billion"),
        ("Prices rose 8 dollars.", "8%"),
        ("It was Egan Bernal.", "Tadej Pogačar"),
        ("The answer is Simona.", "Simona Halep"),
        ("anything at all", "the"),  # gold that normalises to nothing
    ],
)
def test_semantic_match_rejects_wrong_values(prediction: str, gold: str) -> None:
    assert semantic_match(prediction, gold) == 0.0


def test_answer_similarity_best_alias_and_empty() -> None:
    assert answer_similarity("Squid Game", ["Friends", "“Squid Game”"], _embed_bag) == (
        pytest.approx(1.0)
    )
    assert answer_similarity("", ["Squid Game"], _embed_bag) == 0.0
    assert answer_similarity("Squid Game", [], _embed_bag) == 0.0
    assert answer_similarity("zebra", ["Squid Game"], _embed_bag) < 0.5


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 95) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([float(i) for i in range(101)], 95) == pytest.approx(95.0)


# --- citation and retrieval metrics ---------------------------------------------------------

QUOTE_TARIFF = "Trump has threatened to impose an additional 100% tariff on Chinese products"
QUOTE_OTHER = "The trip will feature stops in Malaysia"


def test_citations_all_valid() -> None:
    text = "Trump threatened an additional 100% tariff on Chinese products [1]."
    scores = score_citations(text, [_citation(1, QUOTE_TARIFF)], [GOLD], FAKE_CHECKER)
    assert (scores.precision, scores.recall) == (1.0, 1.0)
    assert scores.valid == [True]


def test_citation_that_does_not_support_its_sentence_is_invalid() -> None:
    text = "Trump threatened an additional 100% tariff on Chinese products [1]."
    scores = score_citations(text, [_citation(1, QUOTE_OTHER)], [GOLD], FAKE_CHECKER)
    assert (scores.precision, scores.recall) == (0.0, 0.0)


def test_citation_outside_gold_articles_is_invalid_only_when_gold_is_given() -> None:
    text = "Trump threatened an additional 100% tariff on Chinese products [1]."
    cites = [_citation(1, QUOTE_TARIFF, article_id="elsewhere")]
    assert score_citations(text, cites, [GOLD], FAKE_CHECKER).precision == 0.0
    assert score_citations(text, cites, [], FAKE_CHECKER).precision == 1.0
    # the quote still supports its sentence: citation_support counts it
    assert score_citations(text, cites, [GOLD], FAKE_CHECKER).supported == 1.0
    other = [_citation(1, QUOTE_OTHER)]
    assert score_citations(text, other, [GOLD], FAKE_CHECKER).supported == 0.0


def test_citation_recall_counts_unbacked_sentences() -> None:
    text = (
        "Trump threatened an additional 100% tariff on Chinese products [1]. "
        "He also plans to visit the moon."
    )
    scores = score_citations(text, [_citation(1, QUOTE_TARIFF)], [GOLD], FAKE_CHECKER)
    assert scores.precision == 1.0
    assert scores.recall == 0.5


def test_no_citations_gives_no_precision_and_zero_recall() -> None:
    scores = score_citations("Trump threatened a tariff.", [], [GOLD], FAKE_CHECKER)
    assert scores.precision is None
    assert scores.recall == 0.0


def test_empty_answer_has_no_citation_scores() -> None:
    scores = score_citations("", [], [GOLD], FAKE_CHECKER)
    assert (scores.precision, scores.recall) == (None, None)


def test_one_invalid_among_two_citations() -> None:
    text = "Trump threatened an additional 100% tariff on Chinese products [1][2]."
    cites = [_citation(1, QUOTE_TARIFF), _citation(2, QUOTE_OTHER)]
    scores = score_citations(text, cites, [GOLD], FAKE_CHECKER)
    assert scores.precision == 0.5
    assert scores.recall == 1.0  # one valid citation backs the sentence


def test_retrieval_scores() -> None:
    assert retrieval_scores(["a", "b", GOLD], [GOLD]) == (1.0, pytest.approx(1 / 3))
    assert retrieval_scores([GOLD, GOLD], [GOLD]) == (1.0, 1.0)
    assert retrieval_scores(["a", "b"], [GOLD]) == (0.0, 0.0)
    assert retrieval_scores([], [GOLD]) == (0.0, 0.0)
    assert retrieval_scores(["a"], []) == (None, None)


# --- suite parsing --------------------------------------------------------------------------


def test_jsonl_suite_parses_defaults_and_dates(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "s.jsonl",
        [
            {"id": "a", "question": "Q1?", "answers": ["x"], "question_date": "2022/06/16"},
            {"id": 7, "question": "Q2?", "answerable": False, "meta": {"anything": [1]}},
            {"id": "c", "question": "Q3?", "answers": ["x"], "conflicting": ["y"]},
        ],
    )
    suite = load_suite(path, evaldata_dir=tmp_path)
    assert suite.name == "s"
    first, second, third = suite.cases
    assert first.answerable and first.question_date == date(2022, 6, 16)
    assert second.id == "7" and not second.answerable and second.answers == []
    assert first.conflicting == [] and third.conflicting == ["y"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "b", "question": "Q?", "anser": ["x"]}', "s.jsonl:2: unknown field 'anser'"),
        ('{"id": "b", "answers": ["x"]}', "s.jsonl:2: missing field 'question'"),
        ('{"id": "b", "question": "Q?", "answers": ["x"]', "s.jsonl:2: invalid JSON"),
        ('{"id": "a", "question": "Q?", "answers": ["x"]}', "s.jsonl:2: duplicate case id 'a'"),
        ('{"id": "b", "question": "Q?", "answers": "x"}', "s.jsonl:2: field 'answers' must be"),
        ('{"id": "b", "question": "Q?"}', "s.jsonl:2: answerable case 'b' has no gold"),
        ('{"id": "b", "question": "Q?", "answers": ["x"], "question_date": "soon"}', ":2:"),
        ('["not", "an", "object"]', "s.jsonl:2: a case is an object"),
        ('{"id": "b", "question": "Q?", "answers": ["x"], "conflicting": "y"}', "'conflicting'"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(
        tmp_path / "s.jsonl", '{"id": "a", "question": "Q?", "answers": ["x"]}\n' + line + "\n"
    )
    with pytest.raises(SuiteError, match=re.escape(message)):
        load_suite(path, evaldata_dir=tmp_path)


def test_yaml_suite_inline_cases_and_header(tmp_path: Path) -> None:
    _write(tmp_path / "corpus" / "a.txt", "Some article.")
    path = _write(
        tmp_path / "suite.yaml",
        "name: mini\n"
        "description: two cases\n"
        "corpus: corpus\n"
        "limit: 5\n"
        "fail_under: {answer_f1: 0.2, latency_ms_p50: 9000}\n"
        "cases:\n"
        "  - id: one\n"
        "    question: What?\n"
        "    answers: [x]\n"
        "    question_date: 2022-06-16\n"
        "  - id: two\n"
        "    question: Who?\n"
        "    answerable: false\n",
    )
    suite = load_suite(path, evaldata_dir=tmp_path)
    assert suite.name == "mini" and suite.limit == 5
    assert suite.corpus == tmp_path / "corpus"
    assert suite.fail_under == ["answer_f1=0.2", "latency_ms_p50=9000"]
    assert suite.cases[0].question_date == date(2022, 6, 16)


def test_yaml_case_error_names_the_case_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "suite.yaml",
        "cases:\n"
        "  - id: one\n"
        "    question: What?\n"
        "    answers: [x]\n"
        "  - id: two\n"
        "    question: Who?\n"
        "    anser: [y]\n",
    )
    with pytest.raises(SuiteError, match=r"suite\.yaml:5: unknown field 'anser'"):
        load_suite(path, evaldata_dir=tmp_path)


def test_yaml_unknown_key_and_bad_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.yaml", "name: x\ncorpse: here\ncases: []\n")
    with pytest.raises(SuiteError, match=r"a\.yaml:2: unknown key 'corpse'"):
        load_suite(path, evaldata_dir=tmp_path)
    path = _write(tmp_path / "b.yaml", "name: x\ncases: [\n  - id: 1\n")
    with pytest.raises(SuiteError, match=r"b\.yaml:\d+: invalid YAML"):
        load_suite(path, evaldata_dir=tmp_path)


def test_yaml_fail_under_with_unknown_metric(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.yaml",
        "fail_under: [accuracy=0.5]\ncases:\n  - {id: a, question: What, answers: [x]}\n",
    )
    with pytest.raises(SuiteError, match=r"a\.yaml:1: .*unknown metric 'accuracy'"):
        load_suite(path, evaldata_dir=tmp_path)


def test_missing_evaldata_names_the_setting(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "rt.yaml",
        'corpus: "{evaldata}/realtimeqa/corpus.jsonl"\n'
        'cases_file: "{evaldata}/realtimeqa/dev.jsonl"\n',
    )
    with pytest.raises(SuiteError) as err:
        load_suite(path, evaldata_dir=tmp_path / "absent")
    message = str(err.value)
    assert "ASSISTANT_EVALDATA_DIR" in message
    assert str(tmp_path / "absent" / "realtimeqa" / "corpus.jsonl") in message
    assert "rt.yaml:1" in message


def test_missing_relative_corpus(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.yaml", "corpus: nowhere\ncases:\n  - {id: a, question: What, answers: [x]}\n"
    )
    with pytest.raises(SuiteError, match=r"corpus .*nowhere does not exist"):
        load_suite(path, evaldata_dir=tmp_path)


def test_wrong_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="not found"):
        load_suite(tmp_path / "nope.jsonl", evaldata_dir=tmp_path)
    with pytest.raises(SuiteError, match=r"\.jsonl or \.yaml"):
        load_suite(_write(tmp_path / "x.csv", "a,b\n"), evaldata_dir=tmp_path)


def test_rgb_negative_builder(tmp_path: Path) -> None:
    _jsonl(
        tmp_path / "ed" / "rgb" / "en_fact_dev.jsonl",
        [
            {"id": 0, "query": "Q zero", "answer": "A", "negative": ["n1", "n2", "n1"]},
            {"id": 1, "query": "Q one", "answer": ["A"], "negative": ["n2", "n3"]},
            {"id": 2, "query": "Q two", "answer": [["Zed", "Z."]], "negative": ["Zed says"]},
        ],
    )
    path = _write(
        tmp_path / "rgb.yaml",
        'corpus_builder: rgb-negative\nsource: "{evaldata}/rgb/en_fact_dev.jsonl"\n',
    )
    suite = load_suite(path, evaldata_dir=tmp_path / "ed")
    assert [c.question for c in suite.cases] == ["Q zero", "Q one"]
    assert all(not c.answerable and c.answers == [] for c in suite.cases)
    assert suite.built_corpus is not None
    assert [r["text"] for r in suite.built_corpus] == ["n1", "n2", "n3", "Zed says"]
    # Q two's answer occurs in the pooled snippets: it is not unanswerable here
    assert "1 questions left out" in suite.description


RGB_RECORDS: list[dict[str, Any]] = [
    {
        "id": 0,
        "query": "Q zero",
        "answer": "Tampa",
        "fakeanswer": "Glendale",
        "positive": ["Held in Tampa.", "Tampa hosts.", "Held in Tampa."],
        "positive_wrong": ["Held in Glendale.", "Glendale hosts."],
        "negative": ["n1", "shared"],
    },
    {
        "id": 1,
        "query": "Q one",
        "answer": [["May 15 2012", "May 15, 2012"]],
        "fakeanswer": "May 1, 2002",
        "positive": ["Tampa hosts.", "On May 15, 2012."],
        "positive_wrong": ["On May 1, 2002."],
        "negative": ["shared", "n3"],
    },
]


def _rgb_suite(tmp_path: Path, builder: str) -> Path:
    _jsonl(tmp_path / "ed" / "rgb" / "en_fact_dev.jsonl", RGB_RECORDS)
    return _write(
        tmp_path / f"{builder}.yaml",
        f'corpus_builder: {builder}\nsource: "{{evaldata}}/rgb/en_fact_dev.jsonl"\n',
    )


def test_rgb_noise_builder_pools_positive_and_negative(tmp_path: Path) -> None:
    suite = load_suite(_rgb_suite(tmp_path, "rgb-noise"), evaldata_dir=tmp_path / "ed")
    assert suite.built_corpus is not None
    corpus = {r["doc_id"]: r["text"] for r in suite.built_corpus}
    assert list(corpus) == [
        "rgb-0-pos0",
        "rgb-0-pos1",
        "rgb-0-neg0",
        "rgb-0-neg1",
        "rgb-1-pos1",
        "rgb-1-neg1",
    ]  # identical snippets stored once, under their first id
    zero, one = suite.cases
    assert zero.answerable and one.answerable
    assert zero.answers == ["Tampa"] and one.answers == ["May 15 2012", "May 15, 2012"]
    assert zero.article_ids == ["rgb-0-pos0", "rgb-0-pos1"]
    # a shared positive snippet keeps the id it was stored under
    assert one.article_ids == ["rgb-0-pos1", "rgb-1-pos1"]
    assert zero.conflicting == [] and zero.tags == ["noise-robustness"]
    assert "left out" not in suite.description


def test_rgb_counterfactual_builder_lists_the_fake_answer(tmp_path: Path) -> None:
    suite = load_suite(_rgb_suite(tmp_path, "rgb-counterfactual"), evaldata_dir=tmp_path / "ed")
    assert suite.built_corpus is not None
    texts = [r["text"] for r in suite.built_corpus]
    assert "Held in Glendale." in texts and "On May 1, 2002." in texts
    assert "n1" not in texts  # negatives stay out
    zero, one = suite.cases
    assert zero.conflicting == ["Glendale"] and one.conflicting == ["May 1, 2002"]
    assert zero.article_ids == ["rgb-0-pos0", "rgb-0-pos1"]
    assert zero.tags == ["counterfactual"]


def test_unknown_corpus_builder_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="rgb-negative, rgb-noise, rgb-counterfactual"):
        load_suite(_rgb_suite(tmp_path, "rgb-bogus"), evaldata_dir=tmp_path / "ed")


def test_conflict_surfaced_needs_both_values() -> None:
    both = "Sources differ: Tampa [1] or Glendale [2]."
    assert conflict_surfaced(both, ["Tampa"], ["Glendale"]) == 1.0
    assert conflict_surfaced("It was in Tampa [1].", ["Tampa"], ["Glendale"]) == 0.0
    assert conflict_surfaced("It was in Glendale.", ["Tampa"], ["Glendale"]) == 0.0
    assert conflict_surfaced("", ["Tampa"], ["Glendale"]) == 0.0  # an abstention
    assert conflict_surfaced(both, ["Tampa"], []) is None
    dates = "One source says 15 May 2012, another May 1st, 2002."
    assert conflict_surfaced(dates, ["May 15, 2012"], ["May 1, 2002"]) == 1.0
    # a value found only inside the other side's phrase does not count
    assert conflict_surfaced("It was Tampa Bay.", ["Tampa"], ["Tampa Bay"]) == 0.0
    assert conflict_surfaced("It was Tampa Bay.", ["Tampa Bay"], ["Tampa"]) == 0.0
    assert conflict_surfaced("Tampa, not Tampa Bay.", ["Tampa"], ["Tampa Bay"]) == 1.0


def test_shipped_suites_parse() -> None:
    seeds = load_suite(ROOT / "evals" / "seeds.jsonl", evaldata_dir=Path("/nonexistent"))
    assert len(seeds.cases) >= 25
    assert sum(not c.answerable for c in seeds.cases) >= 6
    assert {"000_0f8c7ba43273ca44"} == {a for c in seeds.cases for a in c.article_ids}
    wrapped = load_suite(ROOT / "evals" / "seeds.yaml", evaldata_dir=Path("/nonexistent"))
    assert wrapped.corpus is not None and wrapped.corpus.resolve() == (ROOT / "seeds").resolve()
    assert [c.id for c in wrapped.cases] == [c.id for c in seeds.cases]


@pytest.mark.parametrize("name", ["rgb-negative", "rgb-noise", "rgb-counterfactual"])
def test_shipped_rgb_suites_build(tmp_path: Path, name: str) -> None:
    _jsonl(tmp_path / "rgb" / "en_fact_dev.jsonl", RGB_RECORDS)
    suite = load_suite(ROOT / "evals" / f"{name}.yaml", evaldata_dir=tmp_path)
    assert suite.name == name and suite.cases and suite.built_corpus


# --- the runner with a fake assistant -------------------------------------------------------


def _answer(question: str, text: str, citations: list[Citation], hits: list[Hit]) -> Answer:
    return Answer(
        question=question,
        text=text,
        citations=citations,
        hits=hits,
        model="fake-model",
        timings={"retrieve_ms": 10.0, "generate_ms": 100.0, "total_ms": 120.0},
    )


def _mini_suite(tmp_path: Path) -> Path:
    _write(tmp_path / "corpus" / f"{GOLD}.txt", QUOTE_TARIFF + ".")
    return _write(
        tmp_path / "suite.yaml",
        "name: mini\n"
        "corpus: corpus\n"
        "cases:\n"
        "  - id: right\n"
        "    question: What tariff?\n"
        "    answers: ['100%']\n"
        f"    article_ids: [{GOLD}]\n"
        "    question_date: 2025-10-24\n"
        "    tags: [numbers]\n"
        "  - id: wrong\n"
        "    question: Where?\n"
        "    answers: [Malaysia]\n"
        f"    article_ids: [{GOLD}]\n"
        "    tags: [places]\n"
        "  - id: shy\n"
        "    question: Who?\n"
        "    answers: [Xi]\n"
        f"    article_ids: [{GOLD}]\n"
        "    tags: [people]\n"
        "  - id: trap\n"
        "    question: Who won the World Cup?\n"
        "    answerable: false\n"
        "    tags: [unanswerable]\n"
        "  - id: refused\n"
        "    question: What is the GDP?\n"
        "    answerable: false\n"
        "    tags: [unanswerable]\n",
    )


def _mini_answers() -> dict[str, Answer | Exception]:
    return {
        "What tariff?": _answer(
            "What tariff?",
            "Trump threatened an additional 100% tariff on Chinese products [1].",
            [_citation(1, QUOTE_TARIFF)],
            [_hit("other", 1), _hit(GOLD, 2)],
        ),
        "Where?": _answer(
            "Where?",
            "The trip goes to Japan [1].",
            [_citation(1, QUOTE_OTHER)],
            [_hit("other", 1)],
        ),
        # "Who?" has no canned answer: the fake abstains (a wrong abstention)
        "Who won the World Cup?": _answer(
            "Who won the World Cup?",
            "Argentina won the World Cup.",
            [],
            [_hit("other", 1)],
        ),
        # "What is the GDP?" abstains: right for an unanswerable case
    }


def test_run_suite_scores_and_aggregates(tmp_path: Path, settings: Settings) -> None:
    fake = FakeAssistant(settings, _mini_answers())
    report = run_suite(
        _mini_suite(tmp_path), assistant=fake, checker=FAKE_CHECKER, cache_dir=tmp_path / "cache"
    )
    by_id = {c.id: c for c in report.cases}
    assert set(report.metrics) == set(METRICS)
    m = report.metrics
    assert m["answer_contains_gold"] == pytest.approx(1 / 3)
    assert m["answer_semantic_match"] == pytest.approx(1 / 3)
    assert m["answer_exact"] == 0.0
    assert m["false_abstention_rate"] == pytest.approx(1 / 3)
    assert m["abstention_rate"] == 0.5
    assert m["abstention_precision"] == 0.5
    # precision over the two answers with citations (1 valid, 1 not); recall over 3 answers
    assert m["citation_precision"] == 0.5
    assert m["citation_recall"] == pytest.approx(1 / 3)
    assert m["retrieval_recall_at_k"] == pytest.approx(1 / 3)
    assert m["mrr"] == pytest.approx((0.5 + 0 + 0) / 3)
    assert m["latency_ms_p50"] == 120.0 and m["retrieve_ms_p50"] == 10.0
    assert m["answer_judge"] is None
    assert report.counts["abstention_rate"] == 2 and report.counts["answer_f1"] == 3
    # abstained answerable case: correctness 0, no citation scores
    shy = by_id["shy"]
    assert shy.abstained and not shy.correct
    assert shy.scores["answer_f1"] == 0.0 and shy.scores["answer_similarity"] == 0.0
    assert shy.scores["answer_semantic_match"] == 0.0  # an abstention scores 0
    assert shy.scores["citation_precision"] is None
    assert by_id["refused"].correct and not by_id["trap"].correct
    assert by_id["trap"].scores["answer_f1"] is None
    assert by_id["right"].citations[0]["valid"] is True
    assert by_id["right"].citations[0]["quote"] == QUOTE_TARIFF
    assert by_id["right"].retrieved == ["other", GOLD]
    assert report.by_tag["numbers"]["answer_contains_gold"] == 1.0
    assert report.by_tag["unanswerable"]["abstention_rate"] == 0.5
    assert report.model == "fake-model" and report.suite == "mini"
    assert ("What tariff?", date(2025, 10, 24)) in fake.asked
    assert ("Where?", None) in fake.asked


def test_run_suite_caches_corpus_store(tmp_path: Path, settings: Settings) -> None:
    suite = _mini_suite(tmp_path)
    cache = tmp_path / "cache"
    fake = FakeAssistant(settings, _mini_answers())
    first = run_suite(suite, assistant=fake, checker=FAKE_CHECKER, cache_dir=cache)
    second = run_suite(suite, assistant=fake, checker=FAKE_CHECKER, cache_dir=cache)
    assert len(fake.ingested) == 1
    data_dirs = {str(d["data_dir"]) for d in fake.derived}
    assert len(data_dirs) == 1 and data_dirs.pop().startswith(str(cache))
    assert all(d.get("chroma_url", "unset") is None for d in fake.derived)
    assert first.ingest["reused"] is False and second.ingest["reused"] is True
    # a changed corpus gets a new store
    _write(tmp_path / "corpus" / "new.txt", "Another article.")
    run_suite(suite, assistant=fake, checker=FAKE_CHECKER, cache_dir=cache)
    assert len(fake.ingested) == 2
    # and a changed chunk size too
    other = FakeAssistant(settings.model_copy(update={"chunk_size": 900}), _mini_answers())
    run_suite(suite, assistant=other, checker=FAKE_CHECKER, cache_dir=cache)
    assert len(other.ingested) == 1


def test_subset_ingests_only_gold_and_distractors(tmp_path: Path, settings: Settings) -> None:
    ed = tmp_path / "evaldata"
    _jsonl(
        ed / "rt" / "corpus.jsonl",
        [{"doc_id": f"d{i}", "title": None, "text": f"article {i}"} for i in range(6)],
    )
    _jsonl(
        ed / "rt" / "dev.jsonl",
        [
            {
                "id": "q1",
                "question": "Q1?",
                "answers": ["x"],
                "article_ids": ["d1"],
                "meta": {"distractor_ids": ["d3", "missing"]},
            },
            {"id": "q2", "question": "Q2?", "answers": [], "answerable": False},
            {"id": "q3", "question": "Q3?", "answers": ["y"], "article_ids": ["d4"]},
        ],
    )
    suite = _write(
        tmp_path / "rt.yaml",
        'corpus: "{evaldata}/rt/corpus.jsonl"\n'
        'cases_file: "{evaldata}/rt/dev.jsonl"\n'
        "subset: gold+distractors\n",
    )
    fake = FakeAssistant(settings)
    report = run_suite(suite, assistant=fake, checker=FAKE_CHECKER, cache_dir=tmp_path / "c")
    (ingested,) = fake.ingested[0]
    ids = [json.loads(line)["doc_id"] for line in ingested.read_text().splitlines()]
    assert ids == ["d1", "d3", "d4"]
    assert report.ingest["missing_articles"] == ["missing"]
    # --limit narrows the subset to the selected cases
    fake2 = FakeAssistant(settings)
    run_suite(suite, assistant=fake2, checker=FAKE_CHECKER, cache_dir=tmp_path / "c", limit=1)
    (ingested,) = fake2.ingested[0]
    assert [json.loads(x)["doc_id"] for x in ingested.read_text().splitlines()] == ["d1", "d3"]


def test_rgb_suite_runs_over_built_corpus(tmp_path: Path, settings: Settings) -> None:
    _jsonl(
        tmp_path / "evaldata" / "rgb" / "en_fact_dev.jsonl",
        [{"id": 0, "query": "Q zero", "answer": "A", "negative": ["n1", "n2"]}],
    )
    suite = _write(
        tmp_path / "rgb.yaml",
        'corpus_builder: rgb-negative\nsource: "{evaldata}/rgb/en_fact_dev.jsonl"\n',
    )
    fake = FakeAssistant(settings)
    report = run_suite(suite, assistant=fake, checker=FAKE_CHECKER, cache_dir=tmp_path / "c")
    assert report.metrics["abstention_rate"] == 1.0
    assert report.metrics["answer_f1"] is None
    assert report.metrics["false_abstention_rate"] is None
    (ingested,) = fake.ingested[0]
    assert [json.loads(x)["text"] for x in ingested.read_text().splitlines()] == ["n1", "n2"]


def test_conflict_surfaced_rate_over_cases_with_conflicts(
    tmp_path: Path, settings: Settings
) -> None:
    suite = _rgb_suite(tmp_path, "rgb-counterfactual")
    answers: dict[str, Answer | Exception] = {
        "Q zero": _answer("Q zero", "Tampa [1], though one source says Glendale [2].", [], []),
        "Q one": _answer("Q one", "On May 15, 2012.", [], []),
    }
    fake = FakeAssistant(settings.model_copy(update={"evaldata_dir": tmp_path / "ed"}), answers)
    report = run_suite(suite, assistant=fake, checker=FAKE_CHECKER, cache_dir=tmp_path / "c")
    assert report.metrics["conflict_surfaced_rate"] == 0.5
    assert report.counts["conflict_surfaced_rate"] == 2
    assert report.metrics["answer_semantic_match"] == 1.0
    assert [c.scores["conflict_surfaced"] for c in report.cases] == [1.0, 0.0]
    assert "conflict_surfaced_rate" in render_summary(report)


def test_without_corpus_uses_own_store_and_checks_gold(tmp_path: Path, settings: Settings) -> None:
    suite = _jsonl(
        tmp_path / "s.jsonl",
        [{"id": "a", "question": "What tariff?", "answers": ["100%"], "article_ids": [GOLD]}],
    )
    empty = FakeAssistant(settings, _mini_answers())
    with pytest.raises(SuiteError, match="none of the suite's gold articles"):
        run_suite(suite, assistant=empty, checker=FAKE_CHECKER)
    stocked = FakeAssistant(settings, _mini_answers(), articles=[GOLD])
    report = run_suite(suite, assistant=stocked, checker=FAKE_CHECKER)
    assert report.metrics["answer_contains_gold"] == 1.0
    assert not stocked.derived and not stocked.ingested


def test_corpus_argument_overrides_and_tags_filter(tmp_path: Path, settings: Settings) -> None:
    suite = _jsonl(
        tmp_path / "s.jsonl",
        [
            {"id": "a", "question": "What tariff?", "answers": ["100%"], "tags": ["n"]},
            {"id": "b", "question": "Where?", "answers": ["Malaysia"], "tags": ["p"]},
        ],
    )
    corpus = _write(tmp_path / "docs" / "x.txt", "text")
    fake = FakeAssistant(settings, _mini_answers())
    report = run_suite(
        suite,
        assistant=fake,
        corpus=corpus.parent,
        tags=["p"],
        checker=FAKE_CHECKER,
        cache_dir=tmp_path / "c",
    )
    assert [c.id for c in report.cases] == ["b"]
    assert fake.ingested == [[corpus.parent]]
    with pytest.raises(SuiteError, match="no case has tag zzz"):
        run_suite(suite, assistant=fake, corpus=corpus.parent, tags=["zzz"], checker=FAKE_CHECKER)
    with pytest.raises(SuiteError, match="does not exist"):
        run_suite(suite, assistant=fake, corpus=tmp_path / "nope", checker=FAKE_CHECKER)


def test_failing_question_is_recorded_not_fatal(tmp_path: Path, settings: Settings) -> None:
    suite = _jsonl(
        tmp_path / "s.jsonl",
        [
            {"id": "a", "question": "What tariff?", "answers": ["100%"]},
            {"id": "b", "question": "Boom?", "answers": ["x"]},
        ],
    )
    answers = {**_mini_answers(), "Boom?": ModelError("the model server at X is down")}
    fake = FakeAssistant(settings, answers)
    report = run_suite(
        suite, assistant=fake, corpus=suite, checker=FAKE_CHECKER, cache_dir=tmp_path
    )
    failed = next(c for c in report.cases if c.id == "b")
    assert failed.error and "down" in failed.error and not failed.correct
    assert report.errors == 1
    assert report.metrics["answer_contains_gold"] == 0.5


def test_judge_fills_answer_judge(tmp_path: Path, settings: Settings) -> None:
    suite = _jsonl(
        tmp_path / "s.jsonl", [{"id": "a", "question": "What tariff?", "answers": ["x"]}]
    )
    report = run_suite(
        suite,
        assistant=FakeAssistant(settings, _mini_answers()),
        corpus=suite,
        checker=FAKE_CHECKER,
        cache_dir=tmp_path,
        judge=lambda case, answer: 0.75,
    )
    assert report.metrics["answer_judge"] == 0.75


def test_aggregate_of_nothing_is_none() -> None:
    metrics, counts = aggregate([])
    assert all(v is None for v in metrics.values())
    assert all(n == 0 for n in counts.values())


def test_prompt_tokens_over_cases_that_report_them() -> None:
    from assistant.evals import CaseResult

    results = [
        CaseResult(id=str(i), question="q", timings=timings)
        for i, timings in enumerate(
            [
                {"total_ms": 1.0, "prompt_tokens": 100.0, "completion_tokens": 10.0},
                {"total_ms": 1.0, "prompt_tokens": 300.0},
                {"total_ms": 1.0, "prompt_tokens": 800.0, "completion_tokens": 30.0},
                {"total_ms": 1.0},  # an abstention without a model call
            ]
        )
    ]
    metrics, counts = aggregate(results)
    assert metrics["prompt_tokens_p50"] == 300.0
    assert metrics["prompt_tokens_mean"] == pytest.approx(400.0)
    assert metrics["completion_tokens_mean"] == 20.0
    assert counts["prompt_tokens_p50"] == 3 and counts["completion_tokens_mean"] == 2
    report = _report(prompt_tokens_p50=300.0, prompt_tokens_mean=400.0)
    report.counts.update(counts)
    summary = render_summary(report)
    assert re.search(r"prompt_tokens_p50\s+300\s+3", summary)
    assert "prompt_tokens_p50" not in render_summary(_report())  # absent: not shown
    assert check_fail_under(report, ["prompt_tokens_p50=250"])  # an upper bound
    assert not check_fail_under(report, ["prompt_tokens_p50=350"])


# --- gates, comparison, reports -------------------------------------------------------------


def _report(**metrics: float | None) -> EvalReport:
    from datetime import UTC, datetime

    base: dict[str, float | None] = dict.fromkeys(METRICS)
    base.update(metrics)
    return EvalReport(suite="s", started=datetime.now(UTC), seconds=1.0, metrics=base, cases=[])


def test_fail_under_lower_and_upper_bounds() -> None:
    report = _report(
        answer_f1=0.4, false_abstention_rate=0.2, latency_ms_p50=5000.0, abstention_rate=0.9
    )
    assert check_fail_under(report, ["answer_f1=0.4", "abstention_rate=0.8"]) == []
    assert check_fail_under(report, ["false_abstention_rate=0.25", "latency_ms_p50=6000"]) == []
    failures = check_fail_under(
        report, ["answer_f1=0.5", "false_abstention_rate=0.1", "latency_ms_p50=4000"]
    )
    assert len(failures) == 3
    assert "answer_f1" in failures[0] and "<" in failures[0]
    assert "false_abstention_rate" in failures[1] and ">" in failures[1]
    assert "latency_ms_p50" in failures[2]


def test_fail_under_missing_value_fails_and_bad_specs_raise() -> None:
    report = _report(answer_f1=0.4)
    assert len(check_fail_under(report, ["citation_recall=0.1"])) == 1
    with pytest.raises(SuiteError, match="unknown metric 'accuracy'"):
        check_fail_under(report, ["accuracy=0.5"])
    with pytest.raises(SuiteError, match="not metric=value"):
        check_fail_under(report, ["answer_f1"])
    with pytest.raises(SuiteError, match="not a number"):
        check_fail_under(report, ["answer_f1=high"])
    # a report.json dict works too
    assert check_fail_under({"metrics": {"answer_f1": 0.3}}, ["answer_f1=0.5"])
    semantic = {"metrics": {"answer_semantic_match": 0.7}}
    assert check_fail_under(semantic, ["answer_semantic_match=0.8"])
    assert not check_fail_under(semantic, ["answer_semantic_match=0.6"])


def test_compare_reports_directions_and_flips() -> None:
    old = {
        "suite": "s",
        "metrics": {
            "answer_f1": 0.4,
            "answer_semantic_match": 0.5,
            "false_abstention_rate": 0.1,
            "latency_ms_p50": 5000,
        },
        "cases": [
            {"id": "a", "question": "Qa", "correct": True},
            {"id": "b", "question": "Qb", "correct": False},
            {"id": "c", "question": "Qc", "correct": True},
        ],
    }
    new = {
        "suite": "s",
        "metrics": {
            "answer_f1": 0.5,
            "answer_semantic_match": 0.5,
            "false_abstention_rate": 0.2,
            "latency_ms_p50": 4000,
        },
        "cases": [
            {"id": "a", "question": "Qa", "correct": False},
            {"id": "b", "question": "Qb", "correct": True},
            {"id": "c", "question": "Qc", "correct": True},
        ],
    }
    text = compare_reports(old, new)
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "improved" in lines["answer_f1"]
    assert "REGRESSED" in lines["false_abstention_rate"]
    assert "improved" in lines["latency_ms_p50"]
    assert "same" in lines["answer_semantic_match"]
    assert "2 improved, 1 regressed" in text
    assert "different suites" not in text
    noisy = compare_reports(
        {"suite": "s", "metrics": {"latency_ms_p50": 5000}},
        {"suite": "t", "metrics": {"latency_ms_p50": 5100}},
    )
    assert re.search(r"latency_ms_p50 .* same", noisy) and "different suites" in noisy
    assert re.search(r"fixed\s+b: Qb", text) and re.search(r"broke\s+a: Qa", text)
    assert "c: Qc" not in text


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _report_with_hostile_text(tmp_path: Path, settings: Settings) -> EvalReport:
    hostile_q = "<script>alert('q')</script> tariff?"
    answers = {
        hostile_q: _answer(
            hostile_q,
            "Trump threatened an additional 100% tariff on Chinese products [1].",
            [_citation(1, QUOTE_TARIFF + " <img src=x onerror=alert(1)>")],
            [_hit(GOLD, 1)],
        ).model_copy(update={"timings": {"total_ms": 120.0, "prompt_tokens": 512.0}})
    }
    suite = _jsonl(
        tmp_path / "s.jsonl",
        [
            {"id": "h", "question": hostile_q, "answers": ["100%"], "tags": ["<b>x</b>"]},
            {"id": "u", "question": "Unknown | pipe?", "answerable": False, "answers": []},
        ],
    )
    fake = FakeAssistant(settings, answers)
    return run_suite(suite, assistant=fake, corpus=suite, checker=FAKE_CHECKER, cache_dir=tmp_path)


def test_write_reports(tmp_path: Path, settings: Settings) -> None:
    report = _report_with_hostile_text(tmp_path, settings)
    paths = write_reports(report, tmp_path / "out" / "deep")
    assert [p.name for p in paths] == ["report.json", "report.md", "report.html"]

    data = json.loads(paths[0].read_text())
    for key in (
        "answer_contains_gold",
        "answer_semantic_match",
        "answer_f1",
        "citation_precision",
        "citation_recall",
        "retrieval_recall_at_k",
        "mrr",
        "abstention_rate",
        "false_abstention_rate",
        "latency_ms_p50",
        "latency_ms_p95",
    ):
        assert key in data["metrics"]
    assert data["metrics"]["answer_contains_gold"] == 1.0
    assert data["cases"][0]["citations"][0]["quote"].startswith("Trump has threatened")
    assert EvalReport.model_validate(data).cases[0].id == report.cases[0].id

    md = paths[1].read_text()
    assert "| answer_f1 |" in md and "## Worst cases" in md
    assert "| answer_semantic_match | 1.000 |" in md
    assert "| prompt_tokens_p50 | 512 | 1 |" in md
    assert "Unknown \\| pipe?" in md

    page = paths[2].read_text()
    assert "answer_semantic_match" in page and "Prompt size (tokens)" in page
    assert "<script" not in page and "<img" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert {"details", "summary", "svg", "rect", "blockquote", "table"} <= set(parser.tags)
    assert "script" not in parser.tags and "link" not in parser.tags
    assert parser.tags.count("details") == 2
    text = "".join(parser.text)
    assert "<script>alert('q')</script> tariff?" in text  # shown as text, never run


def test_render_summary_lists_metrics(tmp_path: Path, settings: Settings) -> None:
    report = _report_with_hostile_text(tmp_path, settings)
    summary = render_summary(report)
    assert "answer_contains_gold" in summary and "latency_ms_p95" in summary
    assert "answer_judge" not in summary  # optional metric this run did not produce
    assert re.search(r"answer_contains_gold\s+1\.000\s+1", summary)
    assert re.search(r"answer_semantic_match\s+1\.000\s+1", summary)
    assert "<b>x</b>" in summary  # per-tag table


def _tradeoff_case(cid: str, answerable: bool, relevance: float | None, **kw: Any) -> Any:
    from assistant.evals import CaseResult

    scores = {"answer_contains_gold": kw.pop("right", 0.0) if answerable else None}
    return CaseResult(
        id=cid,
        question="q?",
        answerable=answerable,
        relevance=relevance,
        scores=scores,
        **kw,
    )


def test_abstention_tradeoff_is_exact_above_the_runs_gate() -> None:
    from assistant.evals import abstention_tradeoff, calibrated_gate

    cases = [
        _tradeoff_case("a1", True, 0.62, right=1.0),
        _tradeoff_case("a2", True, 0.41, right=1.0),
        _tradeoff_case("a3", True, 0.33, abstained=True),  # answered nothing at any gate
        _tradeoff_case("u1", False, 0.38),
        _tradeoff_case("u2", False, 0.21),
        _tradeoff_case("u3", False, 0.45, abstained=True),
    ]
    rows = abstention_tradeoff(cases, gate=-1.0, step=0.1)
    by_t = {r["threshold"]: r for r in rows}
    assert by_t[0.0]["abstention_rate"] == pytest.approx(1 / 3)
    assert by_t[0.0]["false_abstention_rate"] == pytest.approx(1 / 3)
    assert by_t[0.4]["abstention_rate"] == 1.0  # u1 and u2 fall under the gate
    assert by_t[0.4]["false_abstention_rate"] == pytest.approx(1 / 3)
    assert by_t[0.4]["answer_contains_gold"] == pytest.approx(2 / 3)
    assert by_t[0.5]["false_abstention_rate"] == pytest.approx(2 / 3)
    assert by_t[0.5]["abstention_precision"] == pytest.approx(3 / 5)
    assert calibrated_gate(rows) == 0.4
    # a run gated at 0.3 says nothing about lower gates
    assert min(r["threshold"] for r in abstention_tradeoff(cases, gate=0.3, step=0.1)) == 0.3


def test_abstention_tradeoff_needs_unanswerable_cases() -> None:
    from assistant.evals import abstention_tradeoff, calibrated_gate

    assert abstention_tradeoff([_tradeoff_case("a", True, 0.5)], gate=0.0) == []
    assert calibrated_gate([]) is None


def test_sample_cases_is_evenly_spaced_and_ordered() -> None:
    from assistant.evals import Case, sample_cases

    cases = [Case(id=str(i), question=f"q{i}?", answers=["a"]) for i in range(10)]
    assert [c.id for c in sample_cases(cases, 4)] == ["0", "2", "5", "7"]
    assert sample_cases(cases, None) == cases and sample_cases(cases, 99) == cases
    with pytest.raises(SuiteError, match="--sample"):
        sample_cases(cases, 0)
