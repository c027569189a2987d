"""The runner: `run_suite` asks every case of a suite and scores it, over a cached eval store.

The runner ingests the suite's corpus into a store of its own under
`~/.cache/assistant/evalstores/` (keyed by the corpus content and the settings that shape a
store), so repeated runs reuse it and the user's store is never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.errors import AssistantError, SuiteError
from assistant.evals.cases import Case, Suite, _show
from assistant.evals.metrics import (
    _CONFLICT_SCORE,
    _PER_CASE_METRICS,
    RETRIEVAL_DEPTHS,
    CitationChecker,
    answer_similarity,
    best_alias_score,
    conflict_surfaced,
    contains_gold,
    exact_match,
    retrieval_scores,
    score_citations,
    semantic_match,
    strip_markers,
    token_f1,
)
from assistant.evals.results import (
    CaseResult,
    EvalReport,
    _aggregate_retrieval,
    abstention_tradeoff,
    aggregate,
)
from assistant.evals.suite import _select_cases, load_suite, sample_cases
from assistant.types import Answer, Article, Citation, Hit, IngestReport

if TYPE_CHECKING:
    import numpy

    from assistant.config import Settings


_STORE_FORMAT = 2  # bump when the evalstore layout or what ingest stores changes (2: slug titles)


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
    results, models = _run_cases(
        runner,
        cases,
        checker,
        judge,
        name=suite.name,
        progress=progress,
        retrieval_only=retrieval_only,
    )
    seconds = time.perf_counter() - t0
    return _make_report(
        str(path),
        suite,
        runner,
        results,
        corpus=corpus_label,
        ingest=ingest_info,
        model=next((m for m in models if m), ""),
        started=started,
        seconds=seconds,
        retrieval_only=retrieval_only,
    )


def _run_cases(
    runner: AssistantLike,
    cases: list[Case],
    checker: CitationChecker,
    judge: Callable[[Case, str], float] | None,
    *,
    name: str,
    progress: bool,
    retrieval_only: bool,
) -> tuple[list[CaseResult], list[str]]:
    """Run the cases in order: their results and the model that answered each (or "")."""
    results: list[CaseResult] = []
    models: list[str] = []
    bar = _progress(cases, name, progress)
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
    return results, models


def _make_report(
    path: str,
    suite: Suite,
    runner: AssistantLike,
    results: list[CaseResult],
    *,
    corpus: str | None,
    ingest: dict[str, Any],
    model: str,
    started: datetime,
    seconds: float,
    retrieval_only: bool,
) -> EvalReport:
    """The report of a run: the results aggregated overall and per tag, with the run's facts."""
    summarize = _aggregate_retrieval if retrieval_only else aggregate
    metrics, counts = summarize(results)
    by_tag = {
        tag: summarize([r for r in results if tag in r.tags])[0]
        for tag in sorted({t for r in results for t in r.tags})
    }
    settings = runner.settings
    gate = float(settings.min_relevance)
    return EvalReport(
        suite=suite.name,
        path=path,
        description=suite.description,
        corpus=corpus,
        settings_hash=settings.settings_hash(),
        model=model or ("" if retrieval_only else str(settings.llm_model)),
        k=int(settings.top_k),
        started=started,
        seconds=round(seconds, 3),
        metrics=metrics,
        counts=counts,
        by_tag=by_tag,
        cases=results,
        fail_under=suite.fail_under,
        ingest=ingest,
        errors=sum(1 for r in results if r.error),
        min_relevance=gate,
        abstention_tradeoff=[] if retrieval_only else abstention_tradeoff(results, gate),
        retrieval_only=retrieval_only,
    )


def _progress(cases: list[Case], name: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(cases, desc=name, unit="q", disable=not enabled, leave=False)


def _run_case(
    runner: AssistantLike,
    case: Case,
    checker: CitationChecker,
    judge: Callable[[Case, str], float] | None,
) -> tuple[CaseResult, str]:
    """Ask one case and score it; returns the result and the model that answered."""
    answer, error, wall_ms = _ask(runner, case)
    text = answer.text if answer else ""
    abstained = bool(answer and answer.abstained)
    timings = dict(answer.timings) if answer else {}
    timings.setdefault("total_ms", wall_ms)
    retrieved = [h.chunk.article_id for h in answer.hits] if answer else []
    citations = list(answer.citations) if answer else []

    scores: dict[str, float | None] = dict.fromkeys((*_PER_CASE_METRICS, _CONFLICT_SCORE))
    if case.answerable:
        graded = "" if abstained or error else strip_markers(text)
        scores.update(_answer_scores(case, graded, runner.embed, judge))
    if answer is not None and not abstained:
        cited, citation_scores = _score_cited(text, citations, case, checker)
        scores.update(citation_scores)
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


def _ask(runner: AssistantLike, case: Case) -> tuple[Answer | None, str | None, float]:
    """(answer or None, error or None, wall time in ms) of asking one case as of its date."""
    t0 = time.perf_counter()
    answer: Answer | None = None
    error: str | None = None
    try:
        answer = runner.ask(case.question, as_of=case.question_date)
    except AssistantError as err:
        # One failing question (a timeout, a refused input) should not sink the whole run;
        # it is recorded and scored as wrong.
        error = f"{type(err).__name__}: {err}"
    return answer, error, (time.perf_counter() - t0) * 1000.0


def _answer_scores(
    case: Case,
    graded: str,
    embed: Callable[[list[str]], numpy.ndarray],
    judge: Callable[[Case, str], float] | None,
) -> dict[str, float | None]:
    """The answer metrics of an answerable case (`graded` is "" for an abstention)."""
    scores: dict[str, float | None] = {
        "answer_exact": best_alias_score(graded, case.answers, exact_match),
        "answer_f1": best_alias_score(graded, case.answers, token_f1),
        "answer_contains_gold": best_alias_score(graded, case.answers, contains_gold),
        "answer_semantic_match": best_alias_score(graded, case.answers, semantic_match),
        "answer_similarity": answer_similarity(graded, case.answers, embed),
    }
    if judge is not None:
        scores["answer_judge"] = float(judge(case, graded)) if graded.strip() else 0.0
    scores[_CONFLICT_SCORE] = conflict_surfaced(graded, case.answers, case.conflicting)
    return scores


def _score_cited(
    text: str, citations: list[Citation], case: Case, checker: CitationChecker
) -> tuple[list[dict[str, Any]], dict[str, float | None]]:
    """Each citation as JSON with its verdict and support, and the answer's citation metrics."""
    cs = score_citations(text, citations, case.article_ids, checker)
    cited = [
        {**citation.model_dump(mode="json"), "valid": ok, "support": sup}
        for citation, ok, sup in zip(citations, cs.valid, cs.support, strict=True)
    ]
    scores = {
        "citation_precision": cs.precision,
        "citation_recall": cs.recall,
        "citation_support": cs.supported,
    }
    return cited, scores


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

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    label, key, ingest_path, missing = _corpus_to_ingest(
        suite, cases, source, root, assistant.settings, given=corpus is not None
    )
    store_dir = root / key
    runner = assistant.derive(data_dir=store_dir / "data", chroma_url=None)
    info = _ingest_once(runner, store_dir, ingest_path, label, missing, progress=progress)
    info["store"] = str(store_dir)
    return runner, label, info


def _corpus_to_ingest(
    suite: Suite,
    cases: list[Case],
    source: Path | None,
    root: Path,
    settings: Settings,
    *,
    given: bool,
) -> tuple[str, str, Path, list[str]]:
    """(label, store key, path to ingest, wanted articles missing) of the suite's corpus.

    A built corpus and a `gold+distractors` subset are written once under `root`; a whole
    corpus is ingested from where it is. `given`: the corpus came from `--corpus`.
    """
    if suite.built_corpus is not None and not given:
        blob = "".join(json.dumps(r, sort_keys=True) + "\n" for r in suite.built_corpus)
        label = f"{_show(suite.path)} (built)"
        key = _store_key(hashlib.sha256(blob.encode()).hexdigest(), "built", settings)
        ingest_path = _write_once(root / key / "corpus" / f"{suite.name}.jsonl", blob)
        return label, key, ingest_path, []
    assert source is not None
    if suite.subset == "gold+distractors":
        if not (source.is_file() and source.suffix.lower() == ".jsonl"):
            raise SuiteError(f"{_show(suite.path)}: subset {suite.subset} needs a JSONL corpus")
        wanted = _subset_ids(cases)
        blob, missing = _filter_jsonl(source, wanted)
        label = f"{_show(source)} ({suite.subset}, {len(wanted) - len(missing)} articles)"
        key = _store_key(hashlib.sha256(blob.encode()).hexdigest(), suite.subset, settings)
        ingest_path = _write_once(root / key / "corpus" / f"{suite.name}.jsonl", blob)
        return label, key, ingest_path, missing
    return _show(source), _store_key(_content_sha(source), "all", settings), source, []


def _ingest_once(
    runner: AssistantLike,
    store_dir: Path,
    ingest_path: Path,
    label: str,
    missing: list[str],
    *,
    progress: bool,
) -> dict[str, Any]:
    """Ingest the corpus into the store unless an earlier run finished that; what it holds."""
    marker = store_dir / "ingest.json"
    if marker.is_file():
        info: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
        info["reused"] = True
        return info
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
    return info


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
