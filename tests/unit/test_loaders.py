"""Unit tests for assistant.loaders: every format, the seed file, and every kind of bad input."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.errors import InputError
from assistant.loaders import (
    SUPPORTED_SUFFIXES,
    _source_from_copyright,
    iter_files,
    load_file,
    load_paths,
    normalise_text,
    parse_date,
    slugify,
)
from assistant.types import Article

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_0f8c7ba43273ca44.txt"


def load_one(path: Path, **kwargs: int) -> Article:
    """The single article a non-JSONL file gives."""
    items = list(load_file(path, **kwargs))
    assert len(items) == 1
    assert isinstance(items[0], Article)
    return items[0]


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def make_pdf(path: Path, pages: list[list[str]], title: str | None = None) -> Path:
    """Write a real PDF with a Helvetica text layer, one list of lines per page, using pypdf."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        if not lines:
            continue
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
        ops = ["BT /F1 12 Tf 72 720 Td"]
        for i, line in enumerate(lines):
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(("" if i == 0 else "0 -16 Td ") + f"({escaped}) Tj")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if title:
        writer.add_metadata({"/Title": title})
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def assert_one_line_error(err: InputError, path: Path) -> None:
    message = str(err)
    assert "\n" not in message
    assert message.startswith(str(path))


# --- helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022/09/14", date(2022, 9, 14)),
        ("2022-09-14", date(2022, 9, 14)),
        ("2022-09-14T10:31:00Z", date(2022, 9, 14)),
        ("2022-09-14T10:31:00.123+02:00", date(2022, 9, 14)),
        ("2022-09-14 10:31", date(2022, 9, 14)),
        ("Sept. 14, 2022", date(2022, 9, 14)),
        ("Sep 14, 2022", date(2022, 9, 14)),
        ("October 24, 2025", date(2025, 10, 24)),
        ("Oct. 24, 2025 10:00 a.m. ET", date(2025, 10, 24)),
        ("Friday, October 24, 2025", date(2025, 10, 24)),
        ("24 October 2025", date(2025, 10, 24)),
        ("3rd March 2021", date(2021, 3, 3)),
        ("Fri, 24 Oct 2025 10:00:00 GMT", date(2025, 10, 24)),
        ("20251024", date(2025, 10, 24)),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("2022-13-45", None),
        ("October 24, 2025 was the day everything changed", None),
        ("2022-09-14 The market fell", None),
    ],
)
def test_parse_date(value: str | None, expected: date | None) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Trump aims to sign mineral deals in Asia", "trump-aims-to-sign-mineral-deals-in-asia"),
        ("  Café déjà vu!  ", "cafe-deja-vu"),
        ("100% tariff: what's next?", "100-tariff-what-s-next"),
        ("東京", ""),
    ],
)
def test_slugify(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_caps_length_at_a_word() -> None:
    slug = slugify("word " * 40)
    assert len(slug) <= 80
    assert not slug.endswith("-")
    assert slug.endswith("word")


def test_normalise_text() -> None:
    raw = "\ufeffTitle  \r\nline\x00 one\t \r\r\n\n\n\nline “two”\x07\r\n\n\n"
    assert normalise_text(raw) == "Title\nline one\n\nline “two”"


@given(st.text())
def test_normalise_text_is_idempotent_and_clean(raw: str) -> None:
    once = normalise_text(raw)
    assert normalise_text(once) == once
    assert "\r" not in once
    assert "\n\n\n" not in once
    assert once == once.strip()
    assert all(ch in "\n\t" or ord(ch) >= 32 for ch in once)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "©2025 Bloomberg L.P. Visit bloomberg.com. Distributed by Tribune Content Agency, LLC.",
            "Bloomberg",
        ),
        ("Copyright 2024 The Associated Press. All rights reserved.", "The Associated Press"),
        ("(c) 2019-2024 Reuters", "Reuters"),
        ("© 2023 The New York Times Company", "The New York Times"),
        ("The copyright of this song expired", None),
        ("Copyright holders will appeal the ruling.", None),
        ("©2025", None),
    ],
)
def test_source_from_copyright(line: str, expected: str | None) -> None:
    assert _source_from_copyright(line) == expected


# --- .txt ---------------------------------------------------------------------------------


def test_seed_file() -> None:
    article = load_one(SEED)
    assert article.id == "000_0f8c7ba43273ca44"
    assert article.title == "Trump aims to sign mineral deals in Asia to raise pressure on Xi"
    assert article.source == "Bloomberg"
    assert article.path == str(SEED)
    assert article.text.startswith("WASHINGTON — President Donald Trump")
    assert "100% tariff" in article.text
    assert "Published in" not in article.text
    assert "©" not in article.text
    assert "Comments" not in article.text
    assert "Tribune Content Agency" not in article.text
    assert article.text.endswith("to lower tariffs.")
    assert len(article.sha256) == 64


def test_txt_headers(tmp_path: Path) -> None:
    path = write(
        tmp_path / "note.txt",
        "Title: Fed raises rates\nSource: Reuters\nPublished: 2024-03-20\n"
        "URL: https://example.com/fed\n\nThe Fed raised rates.\nIt was expected.\n",
    )
    article = load_one(path)
    assert article.title == "Fed raises rates"
    assert article.source == "Reuters"
    assert article.published == date(2024, 3, 20)
    assert article.url == "https://example.com/fed"
    assert article.text == "The Fed raised rates.\nIt was expected."


def test_txt_dateline_line_becomes_published(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Big news\nOctober 24, 2025\nSomething happened today.\n")
    article = load_one(path)
    assert article.title == "Big news"
    assert article.published == date(2025, 10, 24)
    assert article.text == "Something happened today."
    assert article.source is None


def test_txt_keeps_a_last_sentence_about_copyright(tmp_path: Path) -> None:
    path = write(tmp_path / "c.txt", "Ruling\nThe court ruled.\nCopyright holders will appeal.\n")
    assert load_one(path).text == "The court ruled.\nCopyright holders will appeal."


def test_txt_one_line_keeps_its_text(tmp_path: Path) -> None:
    article = load_one(write(tmp_path / "one.txt", "The meeting is on Tuesday.\n"))
    assert article.title == "The meeting is on Tuesday."
    assert article.text == "The meeting is on Tuesday."


def test_txt_windows_newlines_and_blank_runs(tmp_path: Path) -> None:
    path = write(tmp_path / "crlf.txt", b"Title\r\n\r\nPara one.  \r\n\r\n\r\n\r\nPara two.\r\n")
    article = load_one(path)
    assert article.text == "Para one.\n\nPara two."


def test_latin1_and_cp1252_files_are_accepted(tmp_path: Path) -> None:
    latin1 = write(
        tmp_path / "latin1.txt", "Café society\nThe café owner said «non».\n".encode("latin-1")
    )
    article = load_one(latin1)
    assert article.title == "Café society"
    assert article.text == "The café owner said «non»."
    cp1252 = write(tmp_path / "cp1252.txt", "Title\nThe café’s owner said “non”.".encode("cp1252"))
    assert load_one(cp1252).text == "The café’s owner said “non”."


def test_utf8_bom_and_utf16_are_accepted(tmp_path: Path) -> None:
    bom = load_one(write(tmp_path / "bom.txt", "\ufeffTitle\nBody text.".encode()))
    assert bom.title == "Title"
    utf16 = load_one(write(tmp_path / "u16.txt", "Titre\nCorps du texte é.".encode("utf-16")))
    assert utf16.text == "Corps du texte é."


# --- .md ----------------------------------------------------------------------------------


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = write(
        tmp_path / "post.md",
        "---\ntitle: Rates rise again\nsource: AP\ndate: 2024-05-01\n"
        "url: https://apnews.com/x\n---\n# Rates rise again\n\nThe **Fed** acted.\n",
    )
    article = load_one(path)
    assert article.title == "Rates rise again"
    assert article.source == "AP"
    assert article.published == date(2024, 5, 1)
    assert article.url == "https://apnews.com/x"
    assert article.text == "# Rates rise again\n\nThe **Fed** acted."


def test_markdown_heading_is_title_and_not_repeated(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.markdown", "# The headline\n\nFirst para.\n\n## Section\n\nMore.")
    article = load_one(path)
    assert article.title == "The headline"
    assert article.text == "First para.\n\n## Section\n\nMore."
    assert article.id == "doc"


def test_markdown_without_heading_uses_first_sentence(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.md", "Voters went to the polls on Tuesday. Turnout was high.\n")
    article = load_one(path)
    assert article.title == "Voters went to the polls on Tuesday."
    assert article.text == "Voters went to the polls on Tuesday. Turnout was high."


def test_markdown_bad_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\nBody.\n")
    with pytest.raises(InputError, match="invalid YAML front matter") as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)


# --- .html --------------------------------------------------------------------------------

HTML_PAGE = """<!doctype html>
<html><head>
<title>Ignored title | Site</title>
<meta property="og:title" content="Storm hits the coast">
<meta property="og:site_name" content="Daily Planet">
<meta property="og:url" content="https://www.dailyplanet.com/storm">
<meta property="article:published_time" content="2024-08-02T06:30:00Z">
<style>p { color: red }</style>
<script>var secret = "do not index";</script>
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<header>Site header</header>
<article>
  <h1>Storm hits the coast</h1>
  <p>The storm   made
     landfall on <b>Friday</b>, officials said.</p>
  <p>Thousands&nbsp;lost power.<br>Schools closed.</p>
  <aside>Related: other storms</aside>
  <form><input name="email">Subscribe</form>
  <ul><li>Item one</li><li>Item two</li></ul>
  <!-- a comment -->
</article>
<article><p>Short teaser.</p></article>
<footer>© Daily Planet</footer>
</body></html>
"""


def test_html_article(tmp_path: Path) -> None:
    article = load_one(write(tmp_path / "storm.html", HTML_PAGE))
    assert article.title == "Storm hits the coast"
    assert article.source == "Daily Planet"
    assert article.url == "https://www.dailyplanet.com/storm"
    assert article.published == date(2024, 8, 2)
    assert article.text == (
        "The storm made landfall on Friday, officials said.\n\n"
        "Thousands lost power.\n\nSchools closed.\n\nItem one\n\nItem two"
    )


def test_html_without_metadata_falls_back(tmp_path: Path) -> None:
    page = (
        "<html><head><title>Plain page</title></head><body><main>"
        "<time datetime='2023-01-05'>Jan 5</time><div>Intro <span>text</span><p>Para</p>tail"
        "</div></main></body></html>"
    )
    article = load_one(write(tmp_path / "plain.htm", page))
    assert article.title == "Plain page"
    assert article.source is None
    assert article.published == date(2023, 1, 5)
    assert article.text == "Jan 5\n\nIntro text\n\nPara\n\ntail"


def test_html_deeply_nested_does_not_crash(tmp_path: Path) -> None:
    depth = 100_000
    page = "<html><body>" + "<div>" * depth + "Deep text." + "</div>" * depth + "</body></html>"
    article = load_one(write(tmp_path / "deep.html", page))
    assert article.text == "Deep text."


def test_html_without_text(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.html", "<html><body><script>x()</script></body></html>")
    with pytest.raises(InputError, match="no visible text") as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)


# --- .pdf ---------------------------------------------------------------------------------


def test_pdf_with_text(tmp_path: Path) -> None:
    path = make_pdf(
        tmp_path / "report.pdf",
        [["Quarterly report", "Sales rose 5% in May."], ["Page two says more."]],
        title="Q2 Report",
    )
    article = load_one(path)
    assert article.id == "report"
    assert article.title == "Q2 Report"
    assert article.text == "Quarterly report\nSales rose 5% in May.\n\nPage two says more."


def test_pdf_title_from_first_line(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "memo.pdf", [["Memo to staff", "Please read."]])
    assert load_one(path).title == "Memo to staff"


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", [[], []])
    with pytest.raises(InputError) as info:
        list(load_file(path))
    assert str(info.value) == f"{path}: PDF has no text layer (scanned?)"


def test_truncated_pdf(tmp_path: Path) -> None:
    good = make_pdf(tmp_path / "good.pdf", [["Some text here."]]).read_bytes()
    path = write(tmp_path / "cut.pdf", good[: len(good) // 2])
    with pytest.raises(InputError, match="corrupt or truncated PDF") as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)


def test_pdf_suffix_on_non_pdf(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.pdf", "just text")
    with pytest.raises(InputError, match="not a PDF file"):
        list(load_file(path))


# --- .jsonl -------------------------------------------------------------------------------


def jsonl(*records: object) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"


def test_jsonl_records(tmp_path: Path) -> None:
    path = write(
        tmp_path / "corpus.jsonl",
        jsonl(
            {
                "doc_id": "rtqa-1",
                "url": "https://www.cnn.com/2022/09/14/x.html",
                "title": None,
                "publish_date": "2022/09/14",
                "authors": ["A"],
                "text": "CNN —\n\nSerena Williams has teased a return to the sport. More text.",
            },
            "",
            {
                "id": 7,
                "title": "Given title",
                "text": "Body.",
                "source": "AP",
                "date": "2024-01-02",
            },
            {"title": "Same Title", "text": "One.", "published": "Sept. 3, 2021"},
            {"title": "Same Title", "text": "Two."},
        ),
    )
    items = list(load_file(path))
    assert all(isinstance(item, Article) for item in items)
    articles = [item for item in items if isinstance(item, Article)]
    first, second, third, fourth = articles
    assert first.id == "rtqa-1"
    assert first.title == "Serena Williams has teased a return to the sport."
    assert first.source == "cnn.com"
    assert first.published == date(2022, 9, 14)
    assert first.text.startswith("CNN —\n\nSerena")
    assert first.path == str(path)
    assert (second.id, second.title, second.source) == ("7", "Given title", "AP")
    assert second.published == date(2024, 1, 2)
    assert second.url is None
    assert (third.id, fourth.id) == ("same-title", "same-title-2")
    assert third.published == date(2021, 9, 3)


def test_jsonl_bad_lines_are_reported_and_others_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mixed.jsonl",
        jsonl(
            {"id": "a", "text": "Good one."},
            '{"id": "b", "text": ',
            {"id": "c", "title": "No text"},
            "[1, 2]",
            {"id": "d", "text": "   "},
            {"id": "a", "text": "Duplicate id."},
            {"id": "e", "text": 5},
            {"id": "f", "text": "Good two."},
        ),
    )
    items = list(load_file(path))
    assert [item.id for item in items if isinstance(item, Article)] == ["a", "f"]
    errors = [str(item) for item in items if isinstance(item, InputError)]
    assert errors[0].startswith(f"{path}:2: invalid JSON (")
    assert errors[1] == f"{path}:3: missing 'text'"
    assert errors[2] == f"{path}:4: expected a JSON object, got list"
    assert errors[3] == f"{path}:5: empty 'text'"
    assert errors[4] == f"{path}:6: duplicate id 'a'"
    assert errors[5] == f"{path}:7: 'text' is a int, not a string"
    assert all("\n" not in error for error in errors)


def test_jsonl_is_streamed_but_long_lines_are_rejected(tmp_path: Path) -> None:
    long_text = "word " * 100
    path = write(
        tmp_path / "big.jsonl",
        jsonl({"id": "x", "text": long_text}, {"id": "y", "text": "ok"}, {"id": "z", "text": "ok"}),
    )
    # The file as a whole is larger than max_bytes: that is fine for JSONL.
    items = list(load_file(path, max_bytes=100))
    assert [item.id for item in items if isinstance(item, Article)] == ["y", "z"]
    (error,) = [item for item in items if isinstance(item, InputError)]
    assert str(error).startswith(f"{path}:1: line is over the")


def test_jsonl_invalid_utf8_line(tmp_path: Path) -> None:
    path = write(tmp_path / "enc.jsonl", b'{"text": "caf\xe9"}\n{"text": "fine"}\n')
    items = list(load_file(path))
    assert str(items[0]).startswith(f"{path}:1: not UTF-8")
    assert isinstance(items[1], Article)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_jsonl_empty(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "empty.jsonl", content)
    with pytest.raises(InputError) as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)


# --- bad single files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.txt", b" \n\t\r\n  \n", "file has only whitespace"),
        ("blank.md", b"\n\n", "file has only whitespace"),
        ("bin.txt", bytes(range(256)) * 4, "looks like a binary file"),
        ("png.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "looks like a binary"),
        ("bin.html", b"\x00\x01\x02<html>" * 10, "looks like a binary file"),
        ("sjis.txt", "日本語のニュース記事です。".encode("shift_jis") * 5, "not UTF-8 text"),
    ],
)
def test_bad_file_is_rejected(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(InputError, match=message) as info:
        list(load_file(path))
    assert_one_line_error(info.value, path)


def test_too_large_file(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "Title\n" + "x" * 2_500)
    with pytest.raises(InputError) as info:
        list(load_file(path, max_bytes=1_000))
    assert str(info.value) == (f"{path}: 0.0 MB is over the 0.001 MB limit (ASSISTANT_MAX_FILE_MB)")


def test_too_large_message_format(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:  # sparse: 52.4 MB without writing them
        handle.truncate(52_400_000)
    with pytest.raises(InputError) as info:
        list(load_file(path))
    assert str(info.value) == (f"{path}: 52.4 MB is over the 20 MB limit (ASSISTANT_MAX_FILE_MB)")


def test_load_file_unknown_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "data.xyz", "text")
    with pytest.raises(InputError) as info:
        list(load_file(path))
    assert str(info.value).startswith(f"{path}: unsupported file type '.xyz' (supported: .txt")


# --- finding files ------------------------------------------------------------------------


def test_iter_files_walks_sorted_and_skips(tmp_path: Path) -> None:
    for name in ["b.txt", "a.md", "sub/c.html", "sub/deeper/d.jsonl", "x.xyz", ".hidden.txt"]:
        write(tmp_path / name, "T\nbody")
    write(tmp_path / ".git" / "e.txt", "T\nbody")
    write(tmp_path / "UPPER.TXT", "T\nbody")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert found == ["UPPER.TXT", "a.md", "b.txt", "sub/c.html", "sub/deeper/d.jsonl"]


def test_iter_files_explicit_file_and_dedupe(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "T\nbody")
    assert list(iter_files([path, str(path), tmp_path])) == [path]


def test_iter_files_explicit_unsupported(tmp_path: Path) -> None:
    path = write(tmp_path / "data.xyz", "x")
    with pytest.raises(InputError) as info:
        list(iter_files([path]))
    assert str(info.value) == (
        f"{path}: unsupported file type '.xyz' (supported: {', '.join(SUPPORTED_SUFFIXES)})"
    )


def test_iter_files_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(InputError) as info:
        list(iter_files([path]))
    assert str(info.value) == f"{path}: no such file or directory"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_iter_files_symlink_loops_end(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a.txt", "T\nbody")
    (tmp_path / "docs" / "loop").symlink_to(tmp_path / "docs", target_is_directory=True)
    (tmp_path / "docs" / "self.txt").symlink_to(tmp_path / "docs" / "self.txt")
    found = list(iter_files([tmp_path / "docs"]))
    assert found == [tmp_path / "docs" / "a.txt"]
    with pytest.raises(InputError, match="broken or looping symbolic link"):
        list(iter_files([tmp_path / "docs" / "self.txt"]))


# --- load_paths ---------------------------------------------------------------------------


def test_load_paths_reports_and_continues(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a_good.txt", "Good title\nGood body.")
    write(tmp_path / "in" / "b_empty.txt", "")
    write(tmp_path / "in" / "c_lines.jsonl", jsonl({"id": "j1", "text": "x"}, "{bad"))
    write(tmp_path / "in" / "d_good.md", "# Heading\n\nText.")
    write(tmp_path / "in" / "a.bad", "not ours")
    items = list(load_paths([tmp_path / "in", tmp_path / "missing", tmp_path / "in" / "a.bad"]))
    assert [item.id for item in items if isinstance(item, Article)] == ["a_good", "j1", "d_good"]
    errors = [str(item) for item in items if isinstance(item, InputError)]
    assert len(errors) == 4
    assert errors[0] == f"{tmp_path / 'in' / 'b_empty.txt'}: file is empty"
    assert errors[1].startswith(f"{tmp_path / 'in' / 'c_lines.jsonl'}:2: invalid JSON")
    assert errors[2] == f"{tmp_path / 'missing'}: no such file or directory"
    assert "unsupported file type '.bad'" in errors[3]


def test_load_paths_rejects_duplicate_ids_across_files(tmp_path: Path) -> None:
    write(tmp_path / "a" / "story.txt", "One\nFirst body.")
    write(tmp_path / "b" / "story.md", "# Two\n\nSecond body.")
    items = list(load_paths([tmp_path]))
    assert isinstance(items[0], Article)
    assert items[0].title == "One"
    assert isinstance(items[1], InputError)
    assert str(items[1]) == (
        f"{tmp_path / 'b' / 'story.md'}: article id 'story' is already used by "
        f"{tmp_path / 'a' / 'story.txt'}"
    )


def test_load_paths_on_seed_dir() -> None:
    items = list(load_paths([SEED.parent]))
    assert [item.id for item in items if isinstance(item, Article)] == [SEED.stem]


def test_html_recursion_error_falls_back_to_tag_stripping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bs4

    class FakeSoup:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(bs4, "BeautifulSoup", FakeSoup)
    page = "<html><script>x()</script><p>First  para.</p><p>Second &amp; last.</p></html>"
    article = load_one(write(tmp_path / "odd.html", page))
    assert article.text == "First para.\n\nSecond & last."
    assert article.title == "First para."


def test_html_in_utf16(tmp_path: Path) -> None:
    page = "<html><head><title>Été</title></head><body><p>Chaleur record.</p></body></html>"
    article = load_one(write(tmp_path / "u16.html", page.encode("utf-16")))
    assert (article.title, article.text) == ("Été", "Chaleur record.")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_iter_files_rejects_non_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as info:
        list(iter_files([fifo]))
    assert str(info.value) == f"{fifo}: not a regular file"
    assert list(iter_files([tmp_path])) == []
