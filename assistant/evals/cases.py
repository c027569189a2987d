"""The cases of a suite: the `Case` and `Suite` models and reading case records.

A case record is one JSON object (a JSONL line or an item of a YAML suite's `cases:`); every
error in one is a single line starting with `file:line`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import SuiteError

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
