"""Eval suites: load cases from `evals/`, run them through an `Assistant`, score, and report.

A suite is data: a `.jsonl` file (one case a line) or a `.yaml` file with a header (name,
corpus, defaults) and its cases inline or in a JSONL file. The runner ingests the suite's corpus
into a store of its own under `~/.cache/assistant/evalstores/` (keyed by the corpus content and
the settings that shape a store), so repeated runs reuse it and the user's store is never
touched. Each case is asked once; the answer is scored for correctness, citations, retrieval,
abstention and latency, and the scores are averaged overall and per tag.

Metric definitions (see `evals/README.md` for the long form):

- `answer_exact`, `answer_f1`, `answer_contains_gold`, `answer_semantic_match` (containment
  after `semantic_normalize`: numbers, dates, currencies spelled one way), `answer_similarity`:
  against the best gold alias, over answerable cases; an abstention on an answerable case
  scores 0.
- `conflict_surfaced_rate`: over cases that list `conflicting` values (wrong values some source
  asserts), the share of answers that name both a gold alias and a conflicting value.
- `citation_precision` / `citation_recall` (ALCE): over answers that did not abstain.
- `retrieval_recall_at_k`, `mrr`: over cases that name gold articles;
  `retrieval_recall_at_10/20` (a gold article among the first 10/20 passages) only in a
  retrieval-only run, which calls `retrieve` instead of `ask` and scores nothing else.
- `abstention_rate` (unanswerable cases), `false_abstention_rate` (answerable cases),
  `abstention_precision` (share of abstentions that were on unanswerable cases).
- `latency_ms_p50/p95`, `retrieve_ms_p50/p95`, `generate_ms_p50/p95`; `prompt_tokens_p50`,
  `prompt_tokens_mean` and `completion_tokens_mean` over the cases whose answer reports
  `prompt_tokens` / `completion_tokens` in `Answer.timings` (None when none does).

A metric with no case to average over is `None` (JSON `null`), never a made-up 0.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import math
import os
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import AssistantError, SuiteError
from assistant.types import Answer, Article, Citation, Hit, IngestReport

if TYPE_CHECKING:
    import numpy

    from assistant.config import Settings


class AssistantLike(Protocol):
    """What the runner needs of an `assistant.chain.Assistant` (fakes in tests provide it)."""

    settings: Settings

    def derive(self, **overrides: Any) -> AssistantLike: ...

    def ingest(self, paths: Iterable[str | Path], *, progress: bool = False) -> IngestReport: ...

    def ask(
        self,
        question: str,
        history: list[tuple[str, str]] | None = None,
        *,
        k: int | None = None,
        as_of: date | None = None,
    ) -> Answer: ...

    def retrieve(
        self, question: str, *, k: int | None = None, as_of: date | None = None
    ) -> list[Hit]: ...

    def embed(self, texts: list[str]) -> numpy.ndarray: ...

    def article(self, article_id: str) -> Article: ...


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
_CASE_FIELDS: tuple[str, ...] = (
    "id",
    "question",
    "answers",
    "article_ids",
    "answerable",
    "question_date",
    "tags",
    "meta",
    "conflicting",
)
_SUITE_KEYS: tuple[str, ...] = (
    "name",
    "description",
    "corpus",
    "cases",
    "cases_file",
    "subset",
    "limit",
    "fail_under",
    "corpus_builder",
    "source",
)
_SUBSETS: tuple[str, ...] = ("gold+distractors",)
_EVALDATA = "{evaldata}"
_LATENCY_NOISE = 0.05  # relative latency change that --compare reports as "same"
_STORE_FORMAT = 1  # bump when the evalstore layout changes, so old caches are not reused


# --- suites ---------------------------------------------------------------------------------


class Case(BaseModel):
    """One eval question with its gold answers (aliases) and gold articles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    question: str
    answers: list[str] = Field(default_factory=list)
    article_ids: list[str] = Field(default_factory=list)
    answerable: bool = True
    question_date: date | None = None
    tags: list[str] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    conflicting: list[str] = Field(
        default_factory=list,
        description="Wrong values that some source in the corpus asserts (RGB `fakeanswer`).",
    )


class Suite(BaseModel):
    """A parsed suite file: its cases plus the header of a YAML suite."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    path: Path
    description: str = ""
    cases: list[Case]
    corpus: Path | None = Field(default=None, description="Folder, file or JSONL of articles.")
    subset: Literal["gold+distractors"] | None = None
    limit: int | None = None
    fail_under: list[str] = Field(default_factory=list)
    built_corpus: list[dict[str, Any]] | None = Field(
        default=None, description="Articles made by a corpus builder (JSONL records), if any."
    )


def load_suite(path: Path, *, evaldata_dir: Path) -> Suite:
    """Parse a `.jsonl` or `.yaml` suite file.

    Args:
        path: The suite file.
        evaldata_dir: Folder of the public eval data; `{evaldata}` in a YAML suite's paths
            expands to it (relative folders resolve against the working directory).

    Returns:
        The suite with every case validated.

    Raises:
        SuiteError: The file is missing or malformed; the message names file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"{_show(path)}: suite file not found")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        cases = _cases_from_jsonl(path)
        return Suite(name=path.stem, path=path, cases=cases)
    if suffix in (".yaml", ".yml"):
        return _suite_from_yaml(path, Path(evaldata_dir))
    raise SuiteError(f"{_show(path)}: a suite is a .jsonl or .yaml file")


def _show(path: Path) -> str:
    """The path as people typed it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cases_from_jsonl(path: Path) -> list[Case]:
    cases: list[Case] = []
    lines: dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise SuiteError(f"{_show(path)}: cannot read suite ({err})") from err
    for number, where, raw in _json_lines(text, _show(path)):
        case = _parse_case(raw, where)
        _check_unique(case.id, number, lines, where)
        cases.append(case)
    if not cases:
        raise SuiteError(f"{_show(path)}: the suite has no cases")
    return cases


def _json_lines(text: str, shown: str) -> Iterator[tuple[int, str, Any]]:
    """(line number, "file:line", parsed record) for each non-blank line of a JSONL text."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{shown}:{number}"
        try:
            yield number, where, json.loads(line)
        except json.JSONDecodeError as err:
            raise SuiteError(f"{where}: invalid JSON ({err.msg})") from err


def _check_unique(case_id: str, line: int, seen: dict[str, int], where: str) -> None:
    if case_id in seen:
        raise SuiteError(f"{where}: duplicate case id '{case_id}' (first at line {seen[case_id]})")
    seen[case_id] = line


def _parse_case(raw: Any, where: str) -> Case:
    """Validate one case record; every error is one line starting with `file:line`."""
    if not isinstance(raw, dict):
        raise SuiteError(f"{where}: a case is an object, got {type(raw).__name__}")
    for key in raw:
        if key not in _CASE_FIELDS:
            raise SuiteError(f"{where}: unknown field '{key}' (fields: {', '.join(_CASE_FIELDS)})")
    for key in ("id", "question"):
        if key not in raw:
            raise SuiteError(f"{where}: missing field '{key}'")
    record = dict(raw)
    if isinstance(record["id"], int) and not isinstance(record["id"], bool):
        record["id"] = str(record["id"])  # JSON datasets often number their cases
    if not isinstance(record["id"], str) or not record["id"].strip():
        raise SuiteError(f"{where}: field 'id' must be a non-empty string")
    if not isinstance(record["question"], str) or not record["question"].strip():
        raise SuiteError(f"{where}: field 'question' must be a non-empty string")
    for key in ("answers", "article_ids", "tags", "conflicting"):
        value = record.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise SuiteError(f"{where}: field '{key}' must be a list of non-empty strings")
    if "question_date" in record and record["question_date"] is not None:
        record["question_date"] = _parse_date(record["question_date"], where)
    try:
        case = Case.model_validate(record)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise SuiteError(f"{where}: field '{field}': {first['msg']}") from err
    if case.answerable and not case.answers:
        raise SuiteError(f"{where}: answerable case '{case.id}' has no gold answers")
    if not case.answerable and case.answers:
        raise SuiteError(
            f"{where}: unanswerable case '{case.id}' lists gold answers (put them in 'meta')"
        )
    return case


def _parse_date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip().replace("/", "-")
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    raise SuiteError(
        f"{where}: field 'question_date' must be a date like 2022-06-16 or 2022/06/16, "
        f"got {value!r}"
    )


def _suite_from_yaml(path: Path, evaldata_dir: Path) -> Suite:
    import yaml

    shown = _show(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as err:
        raise SuiteError(f"{shown}: cannot read suite ({err})") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at_line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise SuiteError(f"{shown}{at_line}: invalid YAML ({problem})") from err
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise SuiteError(f"{shown}: a YAML suite is a mapping with 'name', 'corpus', 'cases'...")

    key_lines: dict[str, int] = {}
    case_lines: list[int] = []
    for key_node, value_node in node.value:
        key_lines[str(key_node.value)] = key_node.start_mark.line + 1
        if key_node.value == "cases" and isinstance(value_node, yaml.SequenceNode):
            case_lines = [item.start_mark.line + 1 for item in value_node.value]

    def at(key: str) -> str:
        return f"{shown}:{key_lines.get(key, 1)}"

    for key in data:
        if key not in _SUITE_KEYS:
            raise SuiteError(
                f"{at(str(key))}: unknown key '{key}' (keys: {', '.join(_SUITE_KEYS)})"
            )
    sources = [k for k in ("cases", "cases_file", "corpus_builder") if k in data]
    if len(sources) != 1:
        raise SuiteError(f"{shown}: give exactly one of 'cases', 'cases_file', 'corpus_builder'")

    base = path.parent
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise SuiteError(f"{at('name')}: 'name' must be a non-empty string")
    description = data.get("description", "") or ""
    if not isinstance(description, str):
        raise SuiteError(f"{at('description')}: 'description' must be a string")
    limit = data.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise SuiteError(f"{at('limit')}: 'limit' must be a positive integer")
    subset = data.get("subset")
    if subset is not None and subset not in _SUBSETS:
        raise SuiteError(f"{at('subset')}: 'subset' must be one of: {', '.join(_SUBSETS)}")
    fail_under = _parse_fail_under_key(data.get("fail_under"), at("fail_under"))

    corpus: Path | None = None
    if data.get("corpus") is not None:
        corpus = _resolve_path(data["corpus"], base, evaldata_dir, at("corpus"), "corpus")

    built: list[dict[str, Any]] | None = None
    if "cases" in data:
        raw_cases = data["cases"]
        if not isinstance(raw_cases, list):
            raise SuiteError(f"{at('cases')}: 'cases' must be a list of cases")
        cases: list[Case] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_cases):
            line = case_lines[index] if index < len(case_lines) else key_lines.get("cases", 1)
            where = f"{shown}:{line}"
            case = _parse_case(raw, where)
            _check_unique(case.id, line, seen, where)
            cases.append(case)
        if not cases:
            raise SuiteError(f"{at('cases')}: the suite has no cases")
    elif "cases_file" in data:
        cases_file = _resolve_path(
            data["cases_file"], base, evaldata_dir, at("cases_file"), "cases_file"
        )
        cases = _cases_from_jsonl(cases_file)
    else:
        builder = data["corpus_builder"]
        if builder not in _BUILDERS:
            raise SuiteError(
                f"{at('corpus_builder')}: unknown corpus_builder '{builder}' "
                f"(known: {', '.join(_BUILDERS)})"
            )
        if "source" not in data:
            raise SuiteError(f"{at('corpus_builder')}: corpus_builder needs a 'source' file")
        if corpus is not None:
            raise SuiteError(f"{at('corpus')}: a built suite makes its own corpus; drop 'corpus'")
        source = _resolve_path(data["source"], base, evaldata_dir, at("source"), "source")
        cases, built, dropped = _BUILDERS[builder](source)
        if dropped:
            description = (
                f"{description.strip()} ({dropped} questions left out: their answer text "
                "occurs in some snippet of the pooled corpus.)"
            )
        if not cases:
            raise SuiteError(f"{at('source')}: every question's answer occurs in the snippets")

    if subset is not None and built is not None:
        raise SuiteError(f"{at('subset')}: 'subset' does not apply to a built corpus")
    return Suite(
        name=name.strip(),
        path=path,
        description=description.strip(),
        cases=cases,
        corpus=corpus,
        subset=subset,
        limit=limit,
        fail_under=fail_under,
        built_corpus=built,
    )


def _resolve_path(value: Any, base: Path, evaldata_dir: Path, where: str, key: str) -> Path:
    """Expand `{evaldata}`, resolve against the suite's folder, and insist the path exists."""
    if not isinstance(value, str) or not value.strip():
        raise SuiteError(f"{where}: '{key}' must be a path")
    uses_evaldata = _EVALDATA in value
    root = evaldata_dir.expanduser()
    if not root.is_absolute():
        root = (Path.cwd() / root).resolve()
    path = Path(value.replace(_EVALDATA, str(root))).expanduser()
    if not path.is_absolute():
        path = base / path
    if not path.exists():
        if uses_evaldata:
            raise SuiteError(
                f"{where}: {key} {path} is missing; the public eval data is read from "
                f"{evaldata_dir} - set ASSISTANT_EVALDATA_DIR (evaldata_dir) to the folder that "
                "holds realtimeqa/ and rgb/"
            )
        raise SuiteError(f"{where}: {key} {path} does not exist")
    return path


def _parse_fail_under_key(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        specs = [f"{k}={v}" for k, v in value.items()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        specs = list(value)
    else:
        raise SuiteError(f"{where}: 'fail_under' is a mapping metric: value or a list 'm=v'")
    for spec in specs:
        try:
            _parse_spec(spec)
        except SuiteError as err:
            raise SuiteError(f"{where}: {err}") from err
    return specs


@dataclass
class _SnippetPool:
    """A pooled RGB corpus: each distinct snippet text stored once, under its first id."""

    records: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)

    def add(self, snippets: Any, prefix: str) -> list[str]:
        """Add `prefix0`, `prefix1`... unless stored already; the ids of the non-empty ones."""
        out: list[str] = []
        for j, snippet in enumerate(snippets if isinstance(snippets, list) else []):
            text = str(snippet).strip()
            if not text:
                continue
            if text not in self.ids:  # identical snippets recur across queries
                self.ids[text] = f"{prefix}{j}"
                # no title: the loader takes one from the text
                self.records.append({"doc_id": self.ids[text], "text": text})
            out.append(self.ids[text])
        return list(dict.fromkeys(out))


def _rgb_records(source: Path, *needs: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(question id, record) for each RGB line; each needs `query` and the `needs` lists."""
    shown = _show(source)
    seen_ids: dict[str, int] = {}
    count = 0
    for number, where, raw in _json_lines(source.read_text(encoding="utf-8"), shown):
        if not isinstance(raw, dict) or any(key not in raw for key in ("query", *needs)):
            wanted = ", ".join(f"'{key}'" for key in ("query", *needs))
            raise SuiteError(f"{where}: an RGB record needs {wanted}")
        qid = str(raw.get("id", number))
        _check_unique(f"rgb-{qid}", number, seen_ids, where)
        count += 1
        yield qid, raw
    if not count:
        raise SuiteError(f"{shown}: no RGB records")


def _rgb_meta(qid: str) -> dict[str, Any]:
    return {"source": "RGB en_fact", "rgb_id": qid}


def _build_rgb_negative(source: Path) -> tuple[list[Case], list[dict[str, Any]], int]:
    """RGB negative rejection: every `negative` snippet is an article, every query unanswerable.

    All questions share one pooled corpus, so a snippet gathered for one question can hold the
    answer to another (and RGB has a few noisy negatives). A question whose gold answer text
    occurs in any snippet is dropped: it would not be unanswerable here.

    Returns:
        The cases, the corpus records (`doc_id`, `text`), and how many questions were dropped.
    """
    pool = _SnippetPool()
    candidates: list[tuple[Case, list[str]]] = []
    for qid, raw in _rgb_records(source, "negative"):
        case = Case(
            id=f"rgb-{qid}",
            question=str(raw["query"]),
            answerable=False,
            tags=["negative-rejection"],
            meta=_rgb_meta(qid),
        )
        candidates.append((case, _flatten_strings(raw.get("answer"))))
        pool.add(raw["negative"], f"rgb-{qid}-neg")
    texts = [f" {normalize_answer(r['text'])} " for r in pool.records]
    cases = []
    for case, answers in candidates:
        golds = [g for g in (normalize_answer(a) for a in answers) if g]
        if not any(f" {g} " in text for g in golds for text in texts):
            cases.append(case)
    return cases, pool.records, len(candidates) - len(cases)


def _build_rgb_noise(source: Path) -> tuple[list[Case], list[dict[str, Any]], int]:
    """RGB noise robustness: `positive` and `negative` snippets pooled; every case answerable."""
    return _build_rgb_answerable(source, "negative", tag="noise-robustness")


def _build_rgb_counterfactual(source: Path) -> tuple[list[Case], list[dict[str, Any]], int]:
    """RGB counterfactual: `positive` beside `positive_wrong` snippets (the answer swapped for
    `fakeanswer`); the fake answer is the case's `conflicting` value.
    """
    return _build_rgb_answerable(source, "positive_wrong", tag="counterfactual", conflict=True)


def _build_rgb_answerable(
    source: Path, beside: str, *, tag: str, conflict: bool = False
) -> tuple[list[Case], list[dict[str, Any]], int]:
    """Every record's `positive` snippets pooled with its `beside` ones; answerable cases.

    A case's gold articles are its own positive snippets (under the id a shared snippet was
    first stored with); with `conflict`, its `fakeanswer` becomes `conflicting`.
    """
    pool = _SnippetPool()
    short = {"negative": "neg", "positive_wrong": "wrong"}.get(beside, beside)
    cases = []
    for qid, raw in _rgb_records(source, "positive", beside):
        positives = pool.add(raw["positive"], f"rgb-{qid}-pos")
        pool.add(raw[beside], f"rgb-{qid}-{short}")
        cases.append(
            Case(
                id=f"rgb-{qid}",
                question=str(raw["query"]),
                answers=_flatten_strings(raw.get("answer")),
                article_ids=positives,
                conflicting=_flatten_strings(raw.get("fakeanswer")) if conflict else [],
                tags=[tag],
                meta=_rgb_meta(qid),
            )
        )
    return cases, pool.records, 0


_BUILDERS: dict[str, Callable[[Path], tuple[list[Case], list[dict[str, Any]], int]]] = {
    "rgb-negative": _build_rgb_negative,
    "rgb-noise": _build_rgb_noise,
    "rgb-counterfactual": _build_rgb_counterfactual,
}
"""Suites whose cases and corpus are built at run time from `source` (`corpus_builder:`)."""


def _flatten_strings(value: Any) -> list[str]:
    """RGB answers are a string, a list of aliases, or a list of lists (one per part)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _flatten_strings(item)]
    return []


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
    """

    support: Callable[[str, str], float]
    threshold: float
    claims: Callable[[str], list[tuple[str, list[int]]]]

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

    A citation is valid when its quote supports a sentence that cites it (support at or above
    the checker's threshold) and, when gold articles are given, comes from one of them.
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
            claim, quote = claims[claim_index][0], citations[citation_index].quote
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


# --- reports --------------------------------------------------------------------------------


class CaseResult(BaseModel):
    """What happened to one case: the answer, its citations and its scores."""

    id: str
    question: str
    question_date: date | None = None
    tags: list[str] = Field(default_factory=list)
    answerable: bool = True
    gold: list[str] = Field(default_factory=list)
    article_ids: list[str] = Field(default_factory=list)
    answer: str = ""
    abstained: bool = False
    abstain_reason: str | None = Field(None, description="Why it abstained (Answer's field).")
    correct: bool = Field(
        default=False, description="Answerable: contains a gold alias. Unanswerable: abstained."
    )
    citations: list[dict[str, Any]] = Field(default_factory=list)
    retrieved: list[str] = Field(
        default_factory=list, description="Article id of each retrieved passage, ranked."
    )
    scores: dict[str, float | None] = Field(default_factory=dict)
    relevance: float | None = Field(
        None, description="Best cosine similarity of a retrieved passage to the question."
    )
    timings: dict[str, float] = Field(default_factory=dict)
    error: str | None = None


class EvalReport(BaseModel):
    """A suite run: aggregate metrics overall and per tag, and every case."""

    suite: str
    path: str = ""
    description: str = ""
    corpus: str | None = None
    settings_hash: str = ""
    model: str = ""
    k: int = 0
    started: datetime
    seconds: float
    metrics: dict[str, float | None]
    counts: dict[str, int] = Field(
        default_factory=dict, description="How many cases each metric averages over."
    )
    by_tag: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    cases: list[CaseResult]
    fail_under: list[str] = Field(default_factory=list)
    ingest: dict[str, Any] = Field(default_factory=dict)
    errors: int = 0
    min_relevance: float | None = Field(None, description="The relevance gate of the run.")
    abstention_tradeoff: list[dict[str, float]] = Field(
        default_factory=list,
        description="What each higher relevance gate would give (see `abstention_tradeoff`).",
    )
    retrieval_only: bool = Field(
        False, description="Only retrieval was run and scored (`run_suite(retrieval_only=)`)."
    )


def run_suite(
    path: Path | str,
    *,
    assistant: AssistantLike,
    corpus: Path | None = None,
    limit: int | None = None,
    tags: list[str] | None = None,
    progress: bool = False,
    judge: Callable[[Case, str], float] | None = None,
    checker: CitationChecker | None = None,
    cache_dir: Path | None = None,
    sample: int | None = None,
    retrieval_only: bool = False,
) -> EvalReport:
    """Run an eval suite through the assistant and score every case.

    Args:
        path: The suite file (`.jsonl` or `.yaml`).
        assistant: The assistant to evaluate. With a corpus, a derived assistant over a store
            of the corpus in `cache_dir` answers; without one, this assistant's store is used.
        corpus: A folder, file or JSONL of articles; overrides the suite's `corpus:`.
        limit: Run only the first N cases (after tag filtering); overrides the suite's `limit`.
        tags: Run only cases that carry at least one of these tags.
        progress: Show progress bars (ingest and questions).
        judge: Optional `judge(case, answer_text) -> score in [0, 1]` (an LLM judge); fills
            `answer_judge`. Without it that metric is None.
        checker: Citation judging functions; defaults to `assistant.citations`.
        cache_dir: Where corpus stores are cached; default `~/.cache/assistant/evalstores`.
        sample: Run only this many of the selected cases, evenly spaced (`sample_cases`),
            over the same corpus as the whole selection.
        retrieval_only: Call `retrieve` (as of each case's date) instead of `ask`: only the
            retrieval metrics (recall at k and at `RETRIEVAL_DEPTHS`, MRR) and the retrieval
            latency are scored, no model is loaded.

    Returns:
        The report.

    Raises:
        SuiteError: The suite is malformed, its data is missing, no case matches, or the
            corpus yields no article.
    """
    settings = assistant.settings
    suite = load_suite(Path(path), evaldata_dir=settings.evaldata_dir)
    selected = _select_cases(suite, tags=tags, limit=limit)
    cases = sample_cases(selected, sample)
    # the corpus subset is that of every selected case, sampled or not: a sample keeps the
    # distractors (and the cached store) of the whole selection
    runner, corpus_label, ingest_info = _prepare_corpus(
        assistant, suite, selected, corpus=corpus, cache_dir=cache_dir, progress=progress
    )
    checker = checker or CitationChecker.from_library()

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    results: list[CaseResult] = []
    models: list[str] = []
    bar = _progress(cases, suite.name, progress)
    for case in bar:
        if retrieval_only:
            result, answered_by = _run_retrieval_case(runner, case), ""
        else:
            result, answered_by = _run_case(runner, case, checker, judge)
        results.append(result)
        models.append(answered_by)
        if progress:
            hits = [r.correct for r in results]
            bar.set_postfix(correct=f"{sum(hits)}/{len(hits)}")
    seconds = time.perf_counter() - t0

    summarize = _aggregate_retrieval if retrieval_only else aggregate
    metrics, counts = summarize(results)
    by_tag = {
        tag: summarize([r for r in results if tag in r.tags])[0]
        for tag in sorted({t for r in results for t in r.tags})
    }
    model = next((m for m in models if m), "") or (
        "" if retrieval_only else str(runner.settings.llm_model)
    )
    return EvalReport(
        suite=suite.name,
        path=str(path),
        description=suite.description,
        corpus=corpus_label,
        settings_hash=runner.settings.settings_hash(),
        model=model,
        k=int(runner.settings.top_k),
        started=started,
        seconds=round(seconds, 3),
        metrics=metrics,
        counts=counts,
        by_tag=by_tag,
        cases=results,
        fail_under=suite.fail_under,
        ingest=ingest_info,
        errors=sum(1 for r in results if r.error),
        min_relevance=float(runner.settings.min_relevance),
        abstention_tradeoff=[]
        if retrieval_only
        else abstention_tradeoff(results, float(runner.settings.min_relevance)),
        retrieval_only=retrieval_only,
    )


TRADEOFF_STEP = 0.05


def abstention_tradeoff(
    results: Sequence[CaseResult], gate: float, step: float = TRADEOFF_STEP
) -> list[dict[str, float]]:
    """Abstention precision/recall at relevance gates from the run's own gate upward.

    A case abstains at gate `t` when it abstained in the run or its best passage's relevance
    is below `t` (then no model call would have been made). This is exact for every `t` at or
    above the run's gate, so a run without a gate (`min_relevance` -1) gives the whole curve
    from one pass over the suite. Each row: `threshold`, `abstention_rate` (recall of
    abstention on unanswerable cases), `false_abstention_rate` (answerable cases lost),
    `abstention_precision` and `answer_contains_gold` (answerable cases still answered right).
    """
    scored = [r for r in results if not r.error]
    if not scored or not any(not r.answerable for r in scored):
        return []
    top = max((r.relevance or 0.0) for r in scored)
    start = max(0.0, math.ceil(gate / step - 1e-9) * step) if gate > 0 else 0.0
    rows: list[dict[str, float]] = []
    t = start
    while t <= top + step:
        flags = [(r, r.abstained or r.relevance is None or r.relevance < t - 1e-9) for r in scored]
        unans = [a for r, a in flags if not r.answerable]
        ans = [a for r, a in flags if r.answerable]
        absts = [not r.answerable for r, a in flags if a]
        right = [
            (not a) and r.scores.get("answer_contains_gold") == 1.0
            for r, a in flags
            if r.answerable
        ]
        rows.append(
            {
                "threshold": round(t, 4),
                "abstention_rate": sum(unans) / len(unans),
                "false_abstention_rate": sum(ans) / len(ans) if ans else 0.0,
                "abstention_precision": sum(absts) / len(absts) if absts else 1.0,
                "answer_contains_gold": sum(right) / len(right) if right else 0.0,
            }
        )
        t = round(t + step, 10)
    return rows


def calibrated_gate(rows: Sequence[Mapping[str, float]]) -> float | None:
    """The gate of `abstention_tradeoff` rows that best separates the two kinds of case.

    Maximises abstention on unanswerable cases minus abstention on answerable ones (Youden's
    J); among equals, the lowest gate (it costs the fewest answers).
    """
    if not rows:
        return None
    best = max(
        rows, key=lambda r: (r["abstention_rate"] - r["false_abstention_rate"], -r["threshold"])
    )
    return float(best["threshold"])


def _progress(cases: list[Case], name: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(cases, desc=name, unit="q", disable=not enabled, leave=False)


def sample_cases(cases: list[Case], n: int | None) -> list[Case]:
    """`n` of `cases`, evenly spaced and in order (all of them when n is None or larger)."""
    if n is None or n >= len(cases):
        return cases
    if n < 1:
        raise SuiteError(f"--sample must be at least 1, got {n}")
    return [cases[i * len(cases) // n] for i in range(n)]


def _select_cases(suite: Suite, *, tags: list[str] | None, limit: int | None) -> list[Case]:
    cases = suite.cases
    if tags:
        wanted = set(tags)
        cases = [c for c in cases if wanted & set(c.tags)]
    limit = limit if limit is not None else suite.limit
    if limit is not None:
        if limit < 1:
            raise SuiteError(f"--limit must be at least 1, got {limit}")
        cases = cases[:limit]
    if not cases:
        known = sorted({t for c in suite.cases for t in c.tags})
        raise SuiteError(
            f"{_show(suite.path)}: no case has tag {', '.join(tags or [])} "
            f"(tags: {', '.join(known) or 'none'})"
        )
    return cases


def _run_case(
    runner: AssistantLike,
    case: Case,
    checker: CitationChecker,
    judge: Callable[[Case, str], float] | None,
) -> tuple[CaseResult, str]:
    """Ask one case and score it; returns the result and the model that answered."""
    t0 = time.perf_counter()
    answer: Answer | None = None
    error: str | None = None
    try:
        answer = runner.ask(case.question, as_of=case.question_date)
    except AssistantError as err:
        # One failing question (a timeout, a refused input) should not sink the whole run;
        # it is recorded and scored as wrong.
        error = f"{type(err).__name__}: {err}"
    wall_ms = (time.perf_counter() - t0) * 1000.0

    text = answer.text if answer else ""
    abstained = bool(answer and answer.abstained)
    timings = dict(answer.timings) if answer else {}
    timings.setdefault("total_ms", wall_ms)
    retrieved = [h.chunk.article_id for h in answer.hits] if answer else []
    citations = list(answer.citations) if answer else []

    scores: dict[str, float | None] = dict.fromkeys((*_PER_CASE_METRICS, _CONFLICT_SCORE))
    if case.answerable:
        graded = "" if abstained or error else strip_markers(text)
        scores["answer_exact"] = best_alias_score(graded, case.answers, exact_match)
        scores["answer_f1"] = best_alias_score(graded, case.answers, token_f1)
        scores["answer_contains_gold"] = best_alias_score(graded, case.answers, contains_gold)
        scores["answer_semantic_match"] = best_alias_score(graded, case.answers, semantic_match)
        scores["answer_similarity"] = answer_similarity(graded, case.answers, runner.embed)
        if judge is not None:
            scores["answer_judge"] = float(judge(case, graded)) if graded.strip() else 0.0
        scores[_CONFLICT_SCORE] = conflict_surfaced(graded, case.answers, case.conflicting)
    cited: list[dict[str, Any]] = []
    if answer is not None and not abstained:
        cs = score_citations(text, citations, case.article_ids, checker)
        scores["citation_precision"] = cs.precision
        scores["citation_recall"] = cs.recall
        scores["citation_support"] = cs.supported
        for citation, ok, sup in zip(citations, cs.valid, cs.support, strict=True):
            cited.append({**citation.model_dump(mode="json"), "valid": ok, "support": sup})
    else:
        cited = [c.model_dump(mode="json") for c in citations]
    scores["retrieval_recall_at_k"], scores["mrr"] = retrieval_scores(retrieved, case.article_ids)

    correct = scores["answer_contains_gold"] == 1.0 if case.answerable else abstained
    result = CaseResult(
        **_case_fields(case),
        answer=text,
        abstained=abstained,
        abstain_reason=answer.abstain_reason if answer else None,
        correct=bool(correct),
        citations=cited,
        retrieved=retrieved,
        scores=scores,
        relevance=max((h.dense for h in answer.hits if h.dense is not None), default=None)
        if answer
        else None,
        timings={k: float(v) for k, v in timings.items()},
        error=error,
    )
    return result, answer.model if answer else ""


def _case_fields(case: Case) -> dict[str, Any]:
    """The fields of a `CaseResult` that repeat the case itself."""
    return {
        "id": case.id,
        "question": case.question,
        "question_date": case.question_date,
        "tags": list(case.tags),
        "answerable": case.answerable,
        "gold": list(case.answers),
        "article_ids": list(case.article_ids),
    }


def _run_retrieval_case(runner: AssistantLike, case: Case) -> CaseResult:
    """Retrieve for one case as of its date and score only the retrieval.

    Recall at k and MRR come from the `top_k` passages `ask` would get; recall at each of
    `RETRIEVAL_DEPTHS` from a second, deeper retrieval (the ranking past k is what a step that
    picks evidence from more candidates would see).
    """
    k = int(runner.settings.top_k)
    deep: list[Hit] = []
    error: str | None = None
    t0 = time.perf_counter()
    try:
        hits = runner.retrieve(case.question, k=k, as_of=case.question_date)
        wall_ms = (time.perf_counter() - t0) * 1000.0
        depth = max(RETRIEVAL_DEPTHS)
        deep = runner.retrieve(case.question, k=depth, as_of=case.question_date)
    except AssistantError as err:
        hits, wall_ms = [], (time.perf_counter() - t0) * 1000.0
        error = f"{type(err).__name__}: {err}"
    top = [h.chunk.article_id for h in hits]
    ranked = [h.chunk.article_id for h in deep]
    scores: dict[str, float | None] = dict.fromkeys(_PER_CASE_METRICS)
    scores["retrieval_recall_at_k"], scores["mrr"] = retrieval_scores(top, case.article_ids)
    for n in RETRIEVAL_DEPTHS:
        scores[f"retrieval_recall_at_{n}"] = retrieval_scores(ranked[:n], case.article_ids)[0]
    return CaseResult(
        **_case_fields(case),
        correct=scores["retrieval_recall_at_k"] == 1.0,
        retrieved=ranked or top,
        scores=scores,
        relevance=max((h.dense for h in hits if h.dense is not None), default=None),
        timings={"retrieve_ms": wall_ms, "total_ms": wall_ms},
        error=error,
    )


def _aggregate_retrieval(
    results: Sequence[CaseResult],
) -> tuple[dict[str, float | None], dict[str, int]]:
    """`aggregate` with only the metrics a retrieval-only run measures; the others are None."""
    metrics, counts = aggregate(results)
    kept = {*RETRIEVAL_METRICS, *LATENCY_METRICS}
    for name in METRICS:
        if name not in kept:
            metrics[name], counts[name] = None, 0
    return metrics, counts


def aggregate(results: Sequence[CaseResult]) -> tuple[dict[str, float | None], dict[str, int]]:
    """Average per-case scores into suite metrics.

    Returns:
        `(metrics, counts)`: every name in `METRICS` mapped to its value (None when no case
        qualifies) and to the number of cases it was computed over.
    """
    metrics: dict[str, float | None] = {}
    counts: dict[str, int] = {}
    for name in _PER_CASE_METRICS:
        values = [v for r in results if (v := r.scores.get(name)) is not None]
        metrics[name] = sum(values) / len(values) if values else None
        counts[name] = len(values)
    surfaced = [v for r in results if (v := r.scores.get(_CONFLICT_SCORE)) is not None]
    metrics["conflict_surfaced_rate"] = sum(surfaced) / len(surfaced) if surfaced else None
    counts["conflict_surfaced_rate"] = len(surfaced)

    unanswerable = [r.abstained for r in results if not r.answerable]
    answerable = [r.abstained for r in results if r.answerable]
    abstentions = [not r.answerable for r in results if r.abstained]
    for name, flags in (
        ("abstention_rate", unanswerable),
        ("false_abstention_rate", answerable),
        ("abstention_precision", abstentions),
    ):
        metrics[name] = sum(flags) / len(flags) if flags else None
        counts[name] = len(flags)

    for prefix, key in (
        ("latency_ms", "total_ms"),
        ("retrieve_ms", "retrieve_ms"),
        ("generate_ms", "generate_ms"),
    ):
        values = [r.timings[key] for r in results if key in r.timings]
        for q in (50, 95):
            metrics[f"{prefix}_p{q}"] = percentile(values, q)
            counts[f"{prefix}_p{q}"] = len(values)
    for name, key in (
        ("prompt_tokens_mean", "prompt_tokens"),
        ("completion_tokens_mean", "completion_tokens"),
    ):
        values = [r.timings[key] for r in results if key in r.timings]
        metrics[name] = sum(values) / len(values) if values else None
        counts[name] = len(values)
        if key == "prompt_tokens":
            metrics["prompt_tokens_p50"] = percentile(values, 50)
            counts["prompt_tokens_p50"] = len(values)
    ordered = {name: metrics[name] for name in METRICS}
    return ordered, {name: counts[name] for name in METRICS}


# --- corpus and evalstores ------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where eval corpus stores are cached: `$XDG_CACHE_HOME/assistant/evalstores`.

    `XDG_CACHE_HOME` defaults to `~/.cache`; the cache lives outside the repository and can be
    deleted at any time (the next run rebuilds what it needs).
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "assistant" / "evalstores"


def _prepare_corpus(
    assistant: AssistantLike,
    suite: Suite,
    cases: list[Case],
    *,
    corpus: Path | None,
    cache_dir: Path | None,
    progress: bool,
) -> tuple[AssistantLike, str | None, dict[str, Any]]:
    """The assistant that answers the suite: over a cached store of its corpus, if it has one."""
    source = Path(corpus) if corpus is not None else suite.corpus
    if corpus is not None and not Path(corpus).exists():
        raise SuiteError(f"--corpus {corpus} does not exist")
    if source is None and suite.built_corpus is None:
        _check_store_has_gold(assistant, cases, suite)
        return assistant, None, {"store": str(assistant.settings.data_dir)}

    settings = assistant.settings
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if suite.built_corpus is not None and corpus is None:
        blob = "".join(json.dumps(r, sort_keys=True) + "\n" for r in suite.built_corpus)
        label = f"{_show(suite.path)} (built)"
        key = _store_key(hashlib.sha256(blob.encode()).hexdigest(), "built", settings)
        ingest_path = _write_once(root / key / "corpus" / f"{suite.name}.jsonl", blob)
        missing: list[str] = []
    elif suite.subset == "gold+distractors":
        assert source is not None
        if not (source.is_file() and source.suffix.lower() == ".jsonl"):
            raise SuiteError(f"{_show(suite.path)}: subset {suite.subset} needs a JSONL corpus")
        wanted = _subset_ids(cases)
        blob, missing = _filter_jsonl(source, wanted)
        label = f"{_show(source)} ({suite.subset}, {len(wanted) - len(missing)} articles)"
        key = _store_key(hashlib.sha256(blob.encode()).hexdigest(), suite.subset, settings)
        ingest_path = _write_once(root / key / "corpus" / f"{suite.name}.jsonl", blob)
    else:
        assert source is not None
        label = _show(source)
        key = _store_key(_content_sha(source), "all", settings)
        ingest_path = source
        missing = []

    store_dir = root / key
    runner = assistant.derive(data_dir=store_dir / "data", chroma_url=None)
    marker = store_dir / "ingest.json"
    if marker.is_file():
        info = json.loads(marker.read_text(encoding="utf-8"))
        info["reused"] = True
    else:
        report = runner.ingest([ingest_path], progress=progress)
        articles = len(report.added) + len(report.updated) + len(report.unchanged)
        if articles == 0:
            first = report.errors[0] if report.errors else "no article found"
            raise SuiteError(f"corpus {label}: no article could be ingested ({first})")
        info = {
            "corpus": label,
            "articles": articles,
            "chunks": report.chunks,
            "errors": report.errors[:20],
            "error_count": len(report.errors),
            "missing_articles": missing[:50],
            "seconds": round(report.seconds, 3),
        }
        # Written last: a run killed mid-ingest leaves no marker, and the next run resumes.
        _write_once(marker, json.dumps(info, indent=2))
        info["reused"] = False
    info["store"] = str(store_dir)
    return runner, label, info


def _store_key(content_sha: str, subset: str, settings: Settings) -> str:
    """Cache key of a corpus store: its content plus every setting that shapes a store."""
    blob = json.dumps(
        {
            "format": _STORE_FORMAT,
            "corpus": content_sha,
            "subset": subset,
            "embedding_model": str(settings.embedding_model),
            "embedding_backend": str(settings.embedding_backend),
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "collection": settings.collection,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _content_sha(path: Path) -> str:
    """sha256 over a file's bytes, or over every (relative path, bytes) of a folder."""
    digest = hashlib.sha256()
    if path.is_file():
        files = [path]
        root = path.parent
    else:
        root = path
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    for file in files:
        digest.update(str(file.relative_to(root)).encode() + b"\0")
        with file.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def _subset_ids(cases: Iterable[Case]) -> set[str]:
    """Gold articles plus the hard distractors each case lists in `meta.distractor_ids`."""
    wanted: set[str] = set()
    for case in cases:
        wanted.update(case.article_ids)
        distractors = case.meta.get("distractor_ids", [])
        if isinstance(distractors, list):
            wanted.update(str(d) for d in distractors)
    return wanted


def _filter_jsonl(source: Path, wanted: set[str]) -> tuple[str, list[str]]:
    """The lines of a JSONL corpus whose `doc_id`/`id` is wanted, and the wanted ids not found."""
    kept: list[str] = []
    found: set[str] = set()
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise SuiteError(f"{_show(source)}:{number}: invalid JSON ({err.msg})") from err
            if not isinstance(record, dict):
                continue
            record_id = record.get("doc_id", record.get("id"))
            if record_id is not None and str(record_id) in wanted:
                kept.append(line.rstrip("\n") + "\n")
                found.add(str(record_id))
    return "".join(kept), sorted(wanted - found)


def _write_once(path: Path, text: str) -> Path:
    """Write atomically unless the file exists (the cache key already pins its content)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path


def _check_store_has_gold(assistant: AssistantLike, cases: list[Case], suite: Suite) -> None:
    """Refuse to score against a store that holds none of the suite's gold articles."""
    gold = sorted({a for c in cases for a in c.article_ids})
    if not gold:
        return
    for article_id in gold:
        try:
            assistant.article(article_id)
            return
        except (AssistantError, LookupError):
            continue
    raise SuiteError(
        f"{_show(suite.path)}: none of the suite's gold articles ({', '.join(gold[:3])}...) is "
        f"in the store at {assistant.settings.data_dir}; pass --corpus PATH or use a YAML "
        "suite with 'corpus:'"
    )


# --- gates and comparison -------------------------------------------------------------------


def _parse_spec(spec: str) -> tuple[str, float]:
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


def check_fail_under(report: EvalReport | Mapping[str, Any], specs: Sequence[str]) -> list[str]:
    """Check `metric=value` gates; returns one line per failed gate (empty when all pass).

    For metrics where higher is better the value is a lower bound (the run fails under it);
    for `false_abstention_rate`, latencies and token counts (lower is better) it is an upper
    bound (the run fails over it). A metric without a value in this run fails its gate.

    Raises:
        SuiteError: A spec is malformed or names an unknown metric.
    """
    metrics = report.metrics if isinstance(report, EvalReport) else report.get("metrics", {})
    failures: list[str] = []
    for spec in specs:
        name, bound = _parse_spec(spec)
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name}: no value in this run (no case it applies to), gate {bound:g}")
        elif name in LOWER_IS_BETTER and value > bound:
            failures.append(f"{name} {_fmt(name, value)} > {bound:g} (upper bound)")
        elif name not in LOWER_IS_BETTER and value < bound:
            failures.append(f"{name} {_fmt(name, value)} < {bound:g} (fail-under)")
    return failures


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if name in LATENCY_METRICS or name in TOKEN_METRICS:
        return f"{value:.0f}"
    return f"{value:.3f}"


def compare_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Describe what changed between two `report.json` documents.

    Lists each metric as `old -> new` with improved/regressed (direction-aware; latency changes
    within 5% count as the same), then the cases that flipped between correct and wrong.
    """
    old_m: Mapping[str, Any] = old.get("metrics", {})
    new_m: Mapping[str, Any] = new.get("metrics", {})
    lines = [
        f"suite {old.get('suite', '?')} -> {new.get('suite', '?')}; "
        f"model {old.get('model', '?')} -> {new.get('model', '?')}; "
        f"settings {old.get('settings_hash', '?')} -> {new.get('settings_hash', '?')}",
        "",
        f"{'metric':<24} {'old':>9}    {'new':>9}  {'change':>9}  verdict",
    ]
    if old.get("suite") != new.get("suite"):
        lines.insert(1, "note: these reports are of different suites; cases cannot match")
    names = [m for m in METRICS if m in old_m or m in new_m]
    names += sorted((set(old_m) | set(new_m)) - set(names))
    improved = regressed = 0
    for name in names:
        a, b = old_m.get(name), new_m.get(name)
        if a is None and b is None:
            continue
        if a is None or b is None:
            verdict, delta = "new" if a is None else "gone", ""
        else:
            diff = float(b) - float(a)
            counted = name in LATENCY_METRICS or name in TOKEN_METRICS
            delta = _fmt(name, diff) if counted else f"{diff:+.3f}"
            if counted and diff >= 0:
                delta = "+" + delta
            better = diff < 0 if name in LOWER_IS_BETTER else diff > 0
            # timings are noisy on a shared machine: a few percent either way is not a change
            noise = _LATENCY_NOISE * abs(float(a)) if name in LATENCY_METRICS else 1e-9
            if abs(diff) <= noise:
                verdict = "same"
            elif better:
                verdict, improved = "improved", improved + 1
            else:
                verdict, regressed = "REGRESSED", regressed + 1
        lines.append(f"{name:<24} {_fmt(name, a):>9} -> {_fmt(name, b):>9}  {delta:>9}  {verdict}")
    lines.append("")
    lines.append(f"{improved} improved, {regressed} regressed")

    old_cases = {c["id"]: c for c in old.get("cases", []) if isinstance(c, dict) and "id" in c}
    new_cases = {c["id"]: c for c in new.get("cases", []) if isinstance(c, dict) and "id" in c}
    fixed = [
        i
        for i in new_cases
        if i in old_cases and new_cases[i].get("correct") and not old_cases[i].get("correct")
    ]
    broke = [
        i
        for i in new_cases
        if i in old_cases and old_cases[i].get("correct") and not new_cases[i].get("correct")
    ]
    if fixed or broke:
        lines.append("")
        lines.append(f"cases that flipped ({len(fixed) + len(broke)}):")
        for label, ids in (("fixed", fixed), ("broke", broke)):
            for case_id in ids:
                question = str(new_cases[case_id].get("question", ""))
                lines.append(f"  {label:<5} {case_id}: {_clip(question, 80)}")
    else:
        lines.append("no case flipped")
    only_old = sorted(set(old_cases) - set(new_cases))
    only_new = sorted(set(new_cases) - set(old_cases))
    if only_old or only_new:
        lines.append(f"cases only in old: {len(only_old)}, only in new: {len(only_new)}")
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- rendering ------------------------------------------------------------------------------


def render_summary(report: EvalReport) -> str:
    """A plain-text table of the report's metrics for the terminal."""
    lines = [
        f"suite {report.suite}: {len(report.cases)} cases in {report.seconds:.1f} s, "
        f"model {report.model}, settings {report.settings_hash}"
        + (f", {report.errors} errors" if report.errors else ""),
        "",
        f"{'metric':<24} {'value':>9}  {'cases':>5}",
        f"{'-' * 24} {'-' * 9}  {'-' * 5}",
    ]
    for name in METRICS:
        value = report.metrics.get(name)
        if (
            value is None
            and report.counts.get(name, 0) == 0
            and (report.retrieval_only or name in (*_OPTIONAL_METRICS, *TOKEN_METRICS))
        ):
            continue  # optional metrics that this run did not produce
        lines.append(f"{name:<24} {_fmt(name, value):>9}  {report.counts.get(name, 0):>5}")
    if report.by_tag:
        keys: tuple[str, ...] = (
            "answer_contains_gold",
            "answer_semantic_match",
            "answer_f1",
            "citation_precision",
            "citation_recall",
            "abstention_rate",
        )
        short: tuple[str, ...] = ("contains", "semantic", "f1", "cit_p", "cit_r", "abstain")
        if report.retrieval_only:
            keys, short = RETRIEVAL_METRICS, ("recall@k", "mrr", "@10", "@20")
        lines += ["", f"{'tag':<20} {'cases':>5} " + " ".join(f"{s:>8}" for s in short)]
        for tag, metrics in report.by_tag.items():
            n = sum(1 for c in report.cases if tag in c.tags)
            lines.append(
                f"{_clip(tag, 20):<20} {n:>5} "
                + " ".join(f"{_fmt(k, metrics.get(k)):>8}" for k in keys)
            )
    return "\n".join(lines)


def worst_cases(report: EvalReport, n: int = 10) -> list[CaseResult]:
    """The n worst cases: wrong before right, then by answer F1 and citation recall."""

    def badness(case: CaseResult) -> tuple[bool, float, float]:
        f1 = case.scores.get("answer_f1")
        recall = case.scores.get("citation_recall")
        return (case.correct, f1 if f1 is not None else 0.0, recall if recall is not None else 0.0)

    return sorted(report.cases, key=badness)[:n]


def write_reports(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write `report.json`, `report.md` and `report.html` into `out_dir` (created if needed).

    Returns:
        The three paths, in that order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "report.html"]
    paths[0].write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(_render_markdown(report), encoding="utf-8")
    paths[2].write_text(_render_html(report), encoding="utf-8")
    return paths


def _md_cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _render_markdown(report: EvalReport) -> str:
    started = f"{report.started:%Y-%m-%d %H:%M}"
    lines = [
        f"# Eval report: {_md_cell(report.suite)}",
        "",
        f"{len(report.cases)} cases, {report.seconds:.1f} s, model `{report.model}`, "
        f"settings `{report.settings_hash}`, top-k {report.k}, started {started} UTC."
        + (f" Corpus: {_md_cell(report.corpus)}." if report.corpus else ""),
        "",
        "| metric | value | cases |",
        "| --- | ---: | ---: |",
    ]
    for name in METRICS:
        value = _fmt(name, report.metrics.get(name))
        lines.append(f"| {name} | {value} | {report.counts.get(name, 0)} |")
    if report.by_tag:
        lines += [
            "",
            "## By tag",
            "",
            "| tag | cases | " + " | ".join(_TAG_KEYS) + " |",
            "| --- " * (len(_TAG_KEYS) + 2) + "|",
        ]
        for tag, metrics in report.by_tag.items():
            n = sum(1 for c in report.cases if tag in c.tags)
            values = " | ".join(_fmt(k, metrics.get(k)) for k in _TAG_KEYS)
            lines.append(f"| {_md_cell(tag)} | {n} | {values} |")
    if report.abstention_tradeoff:
        gate = calibrated_gate(report.abstention_tradeoff)
        lines += [
            "",
            "## Abstention trade-off by relevance gate",
            "",
            f"The run's gate (`min_relevance`) was {report.min_relevance}; each row is what a "
            "higher gate would have given (exact: a case under the gate abstains without a "
            f"model call). Best separation (abstention minus false abstention) at {gate}.",
            "",
            "| gate | abstention | false abstention | abstention precision | contains gold |",
            "| ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in report.abstention_tradeoff:
            lines.append(
                f"| {row['threshold']:.2f} | {row['abstention_rate']:.3f} | "
                f"{row['false_abstention_rate']:.3f} | {row['abstention_precision']:.3f} | "
                f"{row['answer_contains_gold']:.3f} |"
            )
    lines += [
        "",
        "## Worst cases",
        "",
        "| id | question | gold | answer | abstained | contains | semantic | f1 | cit. recall |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for case in worst_cases(report):
        gold = " / ".join(case.gold) if case.gold else "(unanswerable)"
        cells = [
            case.id,
            _clip(case.question, 120),
            _clip(gold, 60),
            _clip(case.error or case.answer, 160),
            "yes" if case.abstained else "no",
            _fmt("answer_contains_gold", case.scores.get("answer_contains_gold")),
            _fmt("answer_semantic_match", case.scores.get("answer_semantic_match")),
            _fmt("answer_f1", case.scores.get("answer_f1")),
            _fmt("citation_recall", case.scores.get("citation_recall")),
        ]
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


_TAG_KEYS: tuple[str, ...] = (
    "answer_contains_gold",
    "answer_semantic_match",
    "answer_f1",
    "citation_precision",
    "citation_recall",
    "retrieval_recall_at_k",
    "abstention_rate",
    "false_abstention_rate",
)

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem}
body{color:#1d1d1f}h1{margin-bottom:.2rem}.meta{color:#555}
table{border-collapse:collapse;margin:1rem 0}
td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;border:1px solid #e5e5e5;border-radius:6px;padding:.5rem}
figcaption{font-weight:600;font-size:.9rem}
details{border:1px solid #e5e5e5;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}.ok{color:#0a7d32}.bad{color:#b3261e}.abst{color:#8a5a00}
blockquote{margin:.3rem 0 .3rem 1rem;padding-left:.6rem;border-left:3px solid #7aa7e0}
blockquote.invalid{border-left-color:#d88}.small{font-size:.85rem;color:#555}
pre{white-space:pre-wrap;margin:0;font:inherit}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _svg_bars(
    items: Sequence[tuple[str, float | None]],
    *,
    scale: float,
    unit: str = "",
    integers: bool = False,
) -> str:
    """A horizontal bar chart in inline SVG; values are drawn against `scale`."""
    row, label_w, bar_w = 22, 190, 260
    height = row * len(items) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 80}" '
        f'height="{height}" role="img">'
    ]
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        share = 0.0 if value is None or scale <= 0 else max(0.0, min(1.0, value / scale))
        if value is None:
            text = "n/a"
        else:
            text = f"{value:.0f}{unit}" if unit or integers else f"{value:.2f}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
            f"{_e(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="16" fill="#eef2f7"/>'
            f'<rect x="{label_w}" y="{y}" width="{share * bar_w:.1f}" height="16" '
            f'fill="#3b73c4"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 13}" font-size="12">{_e(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{_e(caption)}</figcaption>{svg}</figure>"


def _histogram(values: Sequence[float], bins: int = 5) -> list[tuple[str, float]]:
    """Counts of values in [0, 1] over equal bins, labelled by range."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    return [(f"{i / bins:.1f}–{(i + 1) / bins:.1f}", float(c)) for i, c in enumerate(counts)]


def _render_html(report: EvalReport) -> str:
    rates = [m for m in METRICS if m not in LATENCY_METRICS and m not in TOKEN_METRICS]
    rates = [m for m in rates if not (m in _OPTIONAL_METRICS and report.counts.get(m, 0) == 0)]
    meta = [
        f"{len(report.cases)} cases",
        f"{report.seconds:.1f} s",
        f"model {report.model}",
        f"settings {report.settings_hash}",
        f"top-k {report.k}",
        f"started {report.started.isoformat(timespec='seconds')}",
    ]
    if report.corpus:
        meta.append(f"corpus {report.corpus}")
    out: list[str] = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Eval report: {_e(report.suite)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Eval report: {_e(report.suite)}</h1>",
        '<p class="meta">'
        + " · ".join(_e(m) for m in meta)
        + (f' · <span class="bad">{report.errors} errors</span>' if report.errors else "")
        + "</p>",
    ]
    if report.description:
        out.append(f"<p>{_e(report.description)}</p>")

    out.append("<h2>Summary</h2><table><tr><th>metric</th><th>value</th><th>cases</th></tr>")
    for name in METRICS:
        value = _fmt(name, report.metrics.get(name))
        out.append(
            f'<tr><td>{_e(name)}</td><td class="num">{_e(value)}</td>'
            f'<td class="num">{report.counts.get(name, 0)}</td></tr>'
        )
    out.append('</table><div class="charts">')
    out.append(
        _figure("Scores (0–1)", _svg_bars([(m, report.metrics.get(m)) for m in rates], scale=1))
    )
    latency = [(m, report.metrics.get(m)) for m in LATENCY_METRICS]
    top = max((v for _, v in latency if v is not None), default=0.0)
    out.append(_figure("Latency", _svg_bars(latency, scale=top, unit=" ms")))
    tokens = [(m, v) for m in TOKEN_METRICS if (v := report.metrics.get(m)) is not None]
    if tokens:
        most = max(v for _, v in tokens if v is not None)
        out.append(_figure("Prompt size (tokens)", _svg_bars(tokens, scale=most, integers=True)))
    out.append("</div>")

    if report.abstention_tradeoff:
        gate = calibrated_gate(report.abstention_tradeoff)
        out.append(
            "<h2>Abstention trade-off by relevance gate</h2>"
            f"<p>The run's gate was {_e(report.min_relevance)}; best separation at {_e(gate)}."
            "</p><table><tr><th>gate</th><th>abstention</th><th>false abstention</th>"
            "<th>abstention precision</th><th>contains gold</th></tr>"
        )
        for row in report.abstention_tradeoff:
            cells = "".join(
                f'<td class="num">{row[k]:.3f}</td>'
                for k in (
                    "abstention_rate",
                    "false_abstention_rate",
                    "abstention_precision",
                    "answer_contains_gold",
                )
            )
            out.append(f'<tr><td class="num">{row["threshold"]:.2f}</td>{cells}</tr>')
        out.append("</table>")
    out.append('<h2>Per metric: distribution over cases</h2><div class="charts">')
    for name in _PER_CASE_METRICS:
        values = [v for c in report.cases if (v := c.scores.get(name)) is not None]
        if values:
            hist = _histogram(values)
            mean = _fmt(name, report.metrics.get(name))
            caption = f"{name}: mean {mean} over {len(values)} cases (cases per bucket)"
            chart = _svg_bars(hist, scale=max(c for _, c in hist), integers=True)
            out.append(_figure(caption, chart))
    totals = [c.timings["total_ms"] for c in report.cases if "total_ms" in c.timings]
    if totals:
        high = max(totals) or 1.0
        hist = [
            (f"≤ {high * (i + 1) / 5:.0f} ms", count)
            for i, (_, count) in enumerate(_histogram([t / high for t in totals]))
        ]
        chart = _svg_bars(hist, scale=max(c for _, c in hist), integers=True)
        out.append(_figure("total latency: cases per bucket", chart))
    out.append("</div>")

    if report.by_tag:
        out.append("<h2>By tag</h2><table><tr><th>tag</th><th>cases</th>")
        # spaces, not underscores, so the long metric names can wrap in a narrow window
        out.extend(f"<th>{_e(k.replace('_', ' '))}</th>" for k in _TAG_KEYS)
        out.append("</tr>")
        for tag, metrics in report.by_tag.items():
            n = sum(1 for c in report.cases if tag in c.tags)
            out.append(f'<tr><td>{_e(tag)}</td><td class="num">{n}</td>')
            out.extend(f'<td class="num">{_e(_fmt(k, metrics.get(k)))}</td>' for k in _TAG_KEYS)
            out.append("</tr>")
        out.append('</table><div class="charts">')
        for key in ("answer_contains_gold", "citation_recall", "abstention_rate"):
            items = [(tag, m[key]) for tag, m in report.by_tag.items() if m.get(key) is not None]
            if items:
                out.append(_figure(f"{key} by tag", _svg_bars(items, scale=1.0)))
        out.append("</div>")

    out.append(
        '<h2>Cases</h2><p class="small">Worst first. ✓ correct, ✗ wrong; an unanswerable '
        "case is correct when the assistant abstained. Click a case for its cited quotes.</p>"
    )
    out.extend(_render_case_html(case) for case in worst_cases(report, n=len(report.cases)))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _render_case_html(case: CaseResult) -> str:
    mark = '<span class="ok">✓</span>' if case.correct else '<span class="bad">✗</span>'
    flag = ' <span class="abst">(abstained)</span>' if case.abstained else ""
    out = [f"<details><summary>{mark} <code>{_e(case.id)}</code> {_e(case.question)}{flag}"]
    out.append("</summary><table>")
    scores = " · ".join(f"{k} {_fmt(k, v)}" for k, v in case.scores.items() if v is not None)
    timings = " · ".join(f"{k} {v:.0f}" for k, v in case.timings.items() if k.endswith("_ms"))
    ranked = list(dict.fromkeys(case.retrieved))
    rows = [
        ("gold", ", ".join(case.gold) if case.gold else "(unanswerable)"),
        ("gold articles", ", ".join(case.article_ids) or "-"),
        ("asked as of", case.question_date.isoformat() if case.question_date else "-"),
        ("tags", ", ".join(case.tags) or "-"),
        ("answer", case.error or case.answer),
        ("scores", scores or "-"),
        ("timings (ms)", timings or "-"),
        ("retrieved articles", ", ".join(ranked) or "-"),
    ]
    out.extend(f"<tr><th>{_e(k)}</th><td><pre>{_e(v)}</pre></td></tr>" for k, v in rows)
    out.append("</table>")
    for cit in case.citations:
        valid = cit.get("valid")
        css = ' class="invalid"' if valid is False else ""
        verdict = {None: "", True: " · supports its sentence", False: " · not valid"}[valid]
        out.append(
            f'<p class="small">[{_e(cit.get("n", "?"))}] {_e(cit.get("title", ""))} '
            f"(<code>{_e(cit.get('article_id', ''))}</code>{_e(verdict)})</p>"
            f"<blockquote{css}>{_e(cit.get('quote', ''))}</blockquote>"
        )
    if not case.citations:
        out.append('<p class="small">No citations.</p>')
    out.append("</details>")
    return "".join(out)


# --- ablations -----------------------------------------------------------------------------

#: Each step of the pipeline switched off in turn, plus the smaller local model.
ABLATIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "no evidence selection": {"evidence": False},
    "no answer check": {"answer_check": False},
    "answer check on shown sentences": {"answer_check_scope": "evidence"},
    "answer check on kind only": {"answer_check_share": 0.0},
    "no conflict notice": {"conflicts": False},
    "no relevance gate": {"min_relevance": -1.0},
    "with reranking": {"rerank": True},
    "dense only (no BM25)": {"hybrid": False},
    "no citation verification": {"verify": False},
    "question-aware verification": {"question_aware": True},
    "no date awareness": {"date_aware": False},
    "no passage packing": {"pack_passages": False},
    "no near-duplicate grouping": {"dedupe": False},
    "fast model (0.5B)": {"llm_model": "fast"},
}

# The targets for the default configuration: metric -> (bound, higher is better).
TARGETS: dict[str, tuple[float, bool]] = {
    "answer_contains_gold": (0.60, True),
    "citation_precision": (0.90, True),
    "false_abstention_rate": (0.15, False),
    "abstention_rate": (0.85, True),
    "retrieval_recall_at_k": (0.95, True),
    "latency_ms_p50": (6000.0, False),
}

#: Targets per suite name; a suite without an entry gets no targets table.
SUITE_TARGETS: dict[str, dict[str, tuple[float, bool]]] = {
    "realtimeqa-full": TARGETS,
    "realtimeqa": TARGETS,
    "rgb-noise": {"answer_contains_gold": (0.80, True)},
    "rgb-negative": {"abstention_rate": (0.80, True)},
    "rgb-counterfactual": {"conflict_surfaced_rate": (0.50, True)},
}

ABLATION_METRICS = (
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
    "prompt_tokens_p50",
    "prompt_tokens_mean",
)


def run_ablation(
    path: Path,
    *,
    assistant: Any,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    limit: int | None = None,
    progress: bool = False,
    report_dir: Path | None = None,
    sample: int | None = None,
) -> list[tuple[str, EvalReport]]:
    """Run one suite once per variant of the settings (see `ABLATIONS`).

    At temperature 0 the model's answer depends only on its prompt, so variants share a replay
    cache: when a variant builds exactly the prompt an earlier one sent to the same model, the
    earlier answer and its measured generation time are reused (`generate_replayed` in the
    case timings) instead of spending minutes of CPU on the same tokens again.

    With `report_dir`, each variant's report is written to `report_dir/<variant>/` and the
    replay cache to `report_dir/replay.json`; a rerun reuses a variant's report when its
    settings, suite and cases are unchanged, so an interrupted ablation resumes.
    """
    # (raw answer, generate ms[, prompt tokens, completion tokens]): see Assistant.replay_cache
    replay: dict[str, tuple[Any, ...]] = {}
    replay_file = report_dir / "replay.json" if report_dir else None
    if replay_file and replay_file.is_file():
        try:
            replay = {
                k: (str(v[0]), *(float(x) for x in v[1:]))
                for k, v in json.loads(replay_file.read_text()).items()
            }
        except (ValueError, TypeError, IndexError, AttributeError):
            replay = {}
    rows = []
    for name, overrides in (variants or ABLATIONS).items():
        variant = assistant.derive(**overrides) if overrides else assistant.derive()
        if variant.settings.temperature == 0:
            variant.replay_cache = replay
        out = report_dir / _slug(name) if report_dir else None
        report = _reusable_report(out, variant, path, limit, sample)
        if report is None:
            report = run_suite(
                path, assistant=variant, limit=limit, progress=progress, sample=sample
            )
            if out is not None:
                write_reports(report, out)
            if replay_file is not None:
                replay_file.write_text(json.dumps(replay), encoding="utf-8")
        rows.append((name, report))
    return rows


def run_ablations(
    paths: Sequence[Path | str], *, report_dir: Path | None = None, **options: Any
) -> list[tuple[str, list[tuple[str, EvalReport]]]]:
    """`run_ablation` over several suites, in order: `(suite name, rows)` per suite.

    With more than one suite, each suite's variant reports (and replay cache) go to
    `report_dir/<suite file stem>/`, so an interrupted multi-suite ablation resumes too; with
    one, to `report_dir` itself as `run_ablation` does. `options` are `run_ablation`'s.
    """
    sections = []
    for path in paths:
        out = report_dir / Path(path).stem if report_dir and len(paths) > 1 else report_dir
        rows = run_ablation(Path(path), report_dir=out, **options)
        sections.append((rows[0][1].suite if rows else Path(path).stem, rows))
    return sections


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "variant"


def _reusable_report(
    out: Path | None, variant: Any, path: Path, limit: int | None, sample: int | None = None
) -> EvalReport | None:
    if out is None or not (out / "report.json").is_file():
        return None
    try:
        report = EvalReport.model_validate_json((out / "report.json").read_text(encoding="utf-8"))
    except ValueError:
        return None
    suite = load_suite(Path(path), evaldata_dir=variant.settings.evaldata_dir)
    cases = sample_cases(_select_cases(suite, tags=None, limit=limit), sample)
    same = report.settings_hash == variant.settings.settings_hash() and [
        c.id for c in report.cases
    ] == [c.id for c in cases]
    return report if same else None


def render_ablation(rows: Sequence[tuple[str, EvalReport]], *, command: str = "") -> str:
    """The ablation table of one suite as Markdown (`assistant eval SUITE --ablate OUT.md`).

    Below the table: the default row against the suite's targets (`SUITE_TARGETS`), and, when
    a variant ran without the relevance gate, its abstention trade-off with the best-separating
    gate.
    """
    if not rows:
        return ""
    first = rows[0][1]
    lines = [
        "# Eval results: ablations",
        "",
        f"Generated by the runner{f' (`{command}`)' if command else ''} on "
        f"{first.started:%Y-%m-%d %H:%M} UTC; suite `{first.suite}`, {_case_counts(first)}, "
        f"default model {first.model}. Each row switches one step off (or one on, or swaps the "
        "model); do not edit by hand.",
        "",
        *_ablation_body(rows, "##"),
    ]
    return "\n".join(lines) + "\n"


def render_ablations(
    sections: Sequence[tuple[str, Sequence[tuple[str, EvalReport]]]], *, command: str = ""
) -> str:
    """Several suites' ablations in one Markdown file: one section per suite.

    Args:
        sections: `(suite name, rows of run_ablation)` per suite, in order.
        command: The command line that produced them, quoted in the header.
    """
    sections = [(name, rows) for name, rows in sections if rows]
    if not sections:
        return ""
    if len(sections) == 1:
        return render_ablation(sections[0][1], command=command)
    first = sections[0][1][0][1]
    lines = [
        "# Eval results: ablations",
        "",
        f"Generated by the runner{f' (`{command}`)' if command else ''} on "
        f"{first.started:%Y-%m-%d %H:%M} UTC over {len(sections)} suites "
        f"({', '.join(f'`{name}`' for name, _ in sections)}), default model {first.model}. "
        "Each row switches one step off (or one on, or swaps the model); do not edit by hand.",
    ]
    for name, rows in sections:
        report = rows[0][1]
        lines += ["", f"## Suite `{name}`", "", f"{_case_counts(report)}."]
        if report.description:
            lines[-1] += f" {_md_cell(report.description)}"
        lines += ["", *_ablation_body(rows, "###")]
    return "\n".join(lines) + "\n"


def _case_counts(report: EvalReport) -> str:
    unanswerable = sum(1 for c in report.cases if not c.answerable)
    return f"{len(report.cases)} cases ({unanswerable} unanswerable)"


def targets_for(suite: str) -> dict[str, tuple[float, bool]]:
    """The issue's targets for a suite's default configuration (empty when it has none)."""
    return dict(SUITE_TARGETS.get(suite, {}))


def _ablation_body(rows: Sequence[tuple[str, EvalReport]], level: str) -> list[str]:
    """One suite's table, replay note, targets and trade-off; sub-headings at `level`."""
    first = rows[0][1]
    metrics = [*ABLATION_METRICS]
    metrics += [m for m in _OPTIONAL_METRICS if any(r.metrics.get(m) is not None for _, r in rows)]
    lines = [
        "| variant | " + " | ".join(metrics) + " | minutes |",
        "| --- | " + " | ".join("---:" for _ in metrics) + " | ---: |",
    ]
    replayed = 0
    for name, report in rows:
        cells = [_fmt(m, report.metrics.get(m)) for m in metrics]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {report.seconds / 60:.1f} |")
        replayed += sum(1 for c in report.cases if c.timings.get("generate_replayed"))
    if replayed:
        lines += [
            "",
            f"{replayed} answers were replayed: their variant built exactly the prompt an "
            "earlier row sent to the same model at temperature 0, so the earlier answer and its "
            "measured generation time were reused (minutes are wall time, replays included).",
        ]
    targets = targets_for(first.suite)
    if targets:
        lines += [
            "",
            f"{level} `{rows[0][0]}` against the targets",
            "",
            "| metric | target | measured | met |",
            "| --- | ---: | ---: | --- |",
        ]
        for metric, (bound, higher) in targets.items():
            value = first.metrics.get(metric)
            met = value is not None and (value >= bound if higher else value <= bound)
            sign = "≥" if higher else "≤"
            lines.append(
                f"| {metric} | {sign} {_fmt(metric, bound)} | {_fmt(metric, value)} | "
                f"{'yes' if met else 'no'} |"
            )
    ungated = next(
        (r for _, r in rows if r.min_relevance is not None and r.min_relevance < 0), None
    )
    if ungated is not None and ungated.abstention_tradeoff:
        gate = calibrated_gate(ungated.abstention_tradeoff)
        lines += [
            "",
            f"{level} Abstention trade-off (from the run without the relevance gate)",
            "",
            "A case abstains at gate t when the model's answer was abstained on or no passage "
            "reaches cosine similarity t. Best separation (abstention on unanswerable minus "
            f"abstention on answerable cases) at t = {gate}.",
            "",
            "| gate | abstention | false abstention | abstention precision | contains gold |",
            "| ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in ungated.abstention_tradeoff:
            lines.append(
                f"| {row['threshold']:.2f} | {row['abstention_rate']:.3f} | "
                f"{row['false_abstention_rate']:.3f} | {row['abstention_precision']:.3f} | "
                f"{row['answer_contains_gold']:.3f} |"
            )
    return lines
