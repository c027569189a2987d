"""A short fuzz run of the loaders (hypothesis): random and mutated bytes under every suffix.

Whatever the bytes, a loader either yields valid `Article`s (and, for JSONL, one-line
`InputError`s) or raises an `InputError` naming the file; any other exception is a crash an
ingest would not survive. Mutations start from a valid sample of each format, so the parsers
are driven past their first checks (PDF xref tables, front matter, nested HTML, JSON lines).
The whole module runs in well under 30 s.
"""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import InputError
from assistant.loaders import SUPPORTED_SUFFIXES, load_file, load_paths, normalise_text
from assistant.types import Article
from tests.unit.loaders.helpers import make_pdf

_TEXT = (
    "Harbour council approves new ferry\n\n"
    "LISBON, Oct. 3, 2025 — The harbour council approved a new ferry line on Friday, "
    "officials said. The €12 million service starts in May.\n"
)
_MD = "---\ntitle: Ferry line approved\npublished: 2025-10-03\nsource: Lisbon Daily\n---\n" + _TEXT
_HTML = (
    "<!doctype html><html><head><title>Ferry line approved</title>"
    '<meta property="article:published_time" content="2025-10-03T10:00:00Z">'
    '<meta property="og:site_name" content="Lisbon Daily"></head><body><nav>menu</nav>'
    "<article><h1>Ferry line approved</h1><div><p>The harbour council approved a new ferry "
    "line on Friday.</p><p>The <b>€12 million</b> service starts in May.</p></div>"
    "<script>alert(1)</script></article></body></html>"
)
_JSONL = "\n".join(
    json.dumps(record, ensure_ascii=False)
    for record in [
        {"id": "ferry", "title": "Ferry line approved", "text": _TEXT, "date": "2025/10/03"},
        {"title": "Bridge closed", "text": "The old bridge closed for repairs on Monday."},
        {"text": "Rain is expected all week, forecasters said.", "url": "https://ex.com/rain"},
    ]
)


def _pdf_sample() -> bytes:
    with TemporaryDirectory() as tmp:
        path = make_pdf(Path(tmp) / "s.pdf", [["Ferry line approved", "The council approved."]])
        return path.read_bytes()


SAMPLES: dict[str, bytes] = {
    ".txt": _TEXT.encode(),
    ".md": _MD.encode(),
    ".markdown": _MD.encode("utf-16"),
    ".html": _HTML.encode(),
    ".htm": _HTML.encode("cp1252", errors="replace"),
    ".jsonl": _JSONL.encode(),
    ".pdf": _pdf_sample(),
}
assert set(SAMPLES) == set(SUPPORTED_SUFFIXES)


@st.composite
def _mutated(draw: st.DrawFn, sample: bytes) -> bytes:
    """`sample` with a few random edits: flipped, inserted or deleted bytes, or truncation."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=16),
                    st.sampled_from([b"\x00", b"\xff\xfe", b"<div>" * 50, b"\n", b"{", b"%%EOF"]),
                )
            )
        elif kind == "delete" and data:
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del data[at:]
        elif kind == "splice" and data:
            other = draw(st.sampled_from(list(SAMPLES.values())))
            data[at:at] = other[: draw(st.integers(1, 200))]
    return bytes(data)


def _inputs(suffix: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=3000), _mutated(SAMPLES[suffix]))


def _check(path: Path) -> tuple[int, int]:
    """Load `path`; fail on anything but valid articles and one-line InputErrors naming it."""
    articles = errors = 0
    try:
        for item in load_file(path):
            if isinstance(item, Article):
                assert item.text and normalise_text(item.text) == item.text
                assert item.id and item.title.strip() and "\n" not in item.title
                articles += 1
            else:
                assert isinstance(item, InputError), repr(item)
                assert "\n" not in str(item) and str(item).startswith(f"{path}:")
                errors += 1
    except InputError as err:
        assert "\n" not in str(err) and str(err).startswith(str(path)), str(err)
        errors += 1
    return articles, errors


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
def test_the_unmutated_samples_load(suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"sample{suffix}"
    path.write_bytes(SAMPLES[suffix])
    articles, errors = _check(path)
    assert articles >= 1 and errors == 0  # the mutations start from input that works


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,  # a fuzz run explores; its failures are reported with the bytes to keep
)
@given(data=st.data())
def test_loaders_survive_random_and_mutated_bytes(suffix: str, data: st.DataObject) -> None:
    content = data.draw(_inputs(suffix), label="content")
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(content)
        _check(path)


@settings(max_examples=25, deadline=None, database=None)
@given(suffixes=st.lists(st.sampled_from(sorted(SAMPLES)), min_size=1, max_size=6), data=st.data())
def test_a_folder_of_fuzzed_files_is_reported_file_by_file(
    suffixes: list[str], data: st.DataObject
) -> None:
    with TemporaryDirectory() as tmp:
        for i, suffix in enumerate(suffixes):
            (Path(tmp) / f"f{i}{suffix}").write_bytes(data.draw(_inputs(suffix)))
        for item in load_paths([tmp]):
            assert isinstance(item, Article | InputError), repr(item)
            if isinstance(item, InputError):
                assert "\n" not in str(item) and str(item).startswith(tmp)


@pytest.mark.parametrize(
    "front",
    ["published: 2025-02-30", "date: 0000-00-00", "date: 2025-10-03 25:99:00", "x: " + "[" * 3000],
)
def test_front_matter_that_breaks_yaml_constructors_is_one_clear_error(
    front: str, tmp_path: Path
) -> None:
    # found by the fuzz run: PyYAML raises ValueError/RecursionError, not YAMLError, for these
    path = tmp_path / "story.md"
    path.write_text(f"---\n{front}\n---\n# Ferry\n\nThe council approved a ferry.\n")
    with pytest.raises(InputError, match=r"story\.md: invalid YAML front matter"):
        list(load_file(path))
