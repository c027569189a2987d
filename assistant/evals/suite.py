"""Suite files: `load_suite` for a `.jsonl` or `.yaml` suite, and picking the cases to run.

A YAML suite has a header (name, description, corpus, limit, subset, fail_under) and its cases
inline (`cases:`), in a JSONL file (`cases_file:`) or built at run time (`corpus_builder:` with
a `source:`). Paths may use `{evaldata}` for the public eval data folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.errors import SuiteError
from assistant.evals.builders import _BUILDERS
from assistant.evals.cases import Case, Suite, _cases_from_jsonl, _check_unique, _parse_case, _show
from assistant.evals.metrics import _parse_spec

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


@dataclass(frozen=True)
class _YamlSuite:
    """A YAML suite's top-level mapping, with the line each key and each inline case is on."""

    path: Path
    shown: str
    data: dict[Any, Any]
    key_lines: dict[str, int]
    case_lines: list[int]

    def at(self, key: str) -> str:
        """`file:line` of a top-level key (line 1 when the key is absent)."""
        return f"{self.shown}:{self.key_lines.get(key, 1)}"

    def path_of(self, key: str, evaldata_dir: Path) -> Path:
        """The existing path a key names, resolved against the suite's folder."""
        return _resolve_path(self.data[key], self.path.parent, evaldata_dir, self.at(key), key)


def _suite_from_yaml(path: Path, evaldata_dir: Path) -> Suite:
    doc = _read_yaml(path)
    _check_keys(doc)
    name = doc.data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise SuiteError(f"{doc.at('name')}: 'name' must be a non-empty string")
    description = doc.data.get("description", "") or ""
    if not isinstance(description, str):
        raise SuiteError(f"{doc.at('description')}: 'description' must be a string")
    limit, subset = _limit(doc), _subset(doc)
    fail_under = _parse_fail_under_key(doc.data.get("fail_under"), doc.at("fail_under"))
    corpus: Path | None = None
    if doc.data.get("corpus") is not None:
        corpus = doc.path_of("corpus", evaldata_dir)

    built: list[dict[str, Any]] | None = None
    if "cases" in doc.data:
        cases = _inline_cases(doc)
    elif "cases_file" in doc.data:
        cases = _cases_from_jsonl(doc.path_of("cases_file", evaldata_dir))
    else:
        cases, built, description = _built_cases(doc, evaldata_dir, corpus, description)
    if subset is not None and built is not None:
        raise SuiteError(f"{doc.at('subset')}: 'subset' does not apply to a built corpus")
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


def _read_yaml(path: Path) -> _YamlSuite:
    """Parse a YAML suite into its mapping and the lines of its keys and inline cases."""
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
    return _YamlSuite(path, shown, data, key_lines, case_lines)


def _check_keys(doc: _YamlSuite) -> None:
    """Only known keys, and exactly one source of cases."""
    for key in doc.data:
        if key not in _SUITE_KEYS:
            raise SuiteError(
                f"{doc.at(str(key))}: unknown key '{key}' (keys: {', '.join(_SUITE_KEYS)})"
            )
    sources = [k for k in ("cases", "cases_file", "corpus_builder") if k in doc.data]
    if len(sources) != 1:
        raise SuiteError(
            f"{doc.shown}: give exactly one of 'cases', 'cases_file', 'corpus_builder'"
        )


def _limit(doc: _YamlSuite) -> int | None:
    limit = doc.data.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise SuiteError(f"{doc.at('limit')}: 'limit' must be a positive integer")
    return limit


def _subset(doc: _YamlSuite) -> Literal["gold+distractors"] | None:
    subset = doc.data.get("subset")
    if subset is not None and subset not in _SUBSETS:
        raise SuiteError(f"{doc.at('subset')}: 'subset' must be one of: {', '.join(_SUBSETS)}")
    return subset


def _inline_cases(doc: _YamlSuite) -> list[Case]:
    """The cases listed under `cases:`, each error at the line its case starts on."""
    raw_cases = doc.data["cases"]
    if not isinstance(raw_cases, list):
        raise SuiteError(f"{doc.at('cases')}: 'cases' must be a list of cases")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_cases):
        if index < len(doc.case_lines):
            line = doc.case_lines[index]
        else:
            line = doc.key_lines.get("cases", 1)
        where = f"{doc.shown}:{line}"
        case = _parse_case(raw, where)
        _check_unique(case.id, line, seen, where)
        cases.append(case)
    if not cases:
        raise SuiteError(f"{doc.at('cases')}: the suite has no cases")
    return cases


def _built_cases(
    doc: _YamlSuite, evaldata_dir: Path, corpus: Path | None, description: str
) -> tuple[list[Case], list[dict[str, Any]], str]:
    """Cases and corpus of a `corpus_builder:` suite, and its description with what it left out."""
    builder = doc.data["corpus_builder"]
    if builder not in _BUILDERS:
        raise SuiteError(
            f"{doc.at('corpus_builder')}: unknown corpus_builder '{builder}' "
            f"(known: {', '.join(_BUILDERS)})"
        )
    if "source" not in doc.data:
        raise SuiteError(f"{doc.at('corpus_builder')}: corpus_builder needs a 'source' file")
    if corpus is not None:
        raise SuiteError(f"{doc.at('corpus')}: a built suite makes its own corpus; drop 'corpus'")
    source = doc.path_of("source", evaldata_dir)
    cases, built, dropped = _BUILDERS[builder](source)
    if dropped:
        description = (
            f"{description.strip()} ({dropped} questions left out: their answer text "
            "occurs in some snippet of the pooled corpus.)"
        )
    if not cases:
        raise SuiteError(f"{doc.at('source')}: every question's answer occurs in the snippets")
    return cases, built, description


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
