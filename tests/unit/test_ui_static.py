"""The page's CSS and JS are package files, shipped in the wheel and loaded at build time."""

from __future__ import annotations

from pathlib import Path

from assistant import ui
from assistant.config import Settings
from assistant.types import IngestReport
from assistant.ui.app import _report_line, static_text


def test_static_files_are_read_from_the_package() -> None:
    assert "#article-view mark" in static_text("app.css")
    assert "trigger('click'" in static_text("sources.js")
    assert "scrollIntoView" in static_text("article.js")
    assert "remove-article" in static_text("library.js")
    assert "navigator.clipboard" in static_text("copy.js")
    # the regex escapes survived the move out of a Python string
    assert r"/#cite-(\d+)-(\d+)/" in static_text("sources.js")


def test_launch_options_carry_the_css_file() -> None:
    opts = ui.launch_options(Settings(data_dir=Path("/x")))
    assert opts["css"] == static_text("app.css")


def test_pyproject_ships_the_static_files() -> None:
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"assistant.ui" = ["static/*.css", "static/*.js"]' in pyproject


def test_upload_report_line_counts_and_escapes() -> None:
    report = IngestReport(
        added=["a", "b"],
        updated=[],
        unchanged=["c"],
        errors=["/tmp/up/x<1>.txt: file is empty"],
        chunks=7,
        seconds=1.3,
    )
    lines = _report_line(Path("/tmp/up/news.txt"), report)
    assert lines[0] == '<li class="upload-error">✗ x&lt;1&gt;.txt: file is empty</li>'
    assert lines[1] == (
        '<li class="upload-ok">✓ news.txt: 2 added, 1 unchanged (7 passages, 1.3 s)</li>'
    )
    assert _report_line(Path("/tmp/up/none.txt"), IngestReport()) == []
