"""The bad input matrix (docs/reliability.md) and server exposure, with the real store.

Each file row runs through three doors: the Python API (`Assistant.ingest`), the CLI
(`assistant ingest`, in-process so the matrix stays fast; one test runs the real console script)
and the browser's upload handler. For every door the row's outcome is checked: a rejected input
gives exactly one one-line error naming it, a non-zero exit code in the CLI and an error line in
the UI, and the store (article ids, chunk count, revision) is exactly as before.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from assistant import ui
from assistant.chain import Assistant
from assistant.cli import check_exposure, main
from assistant.config import Settings
from assistant.errors import ConfigError, InputError
from assistant.store import Store
from tests.conftest import ROOT, SEEDS, WIRING_MODEL
from tests.unit.loaders.helpers import make_pdf

pytestmark = pytest.mark.integration

DOC = ROOT / "docs" / "reliability.md"
ASSISTANT_BIN = ROOT / ".venv" / "bin" / "assistant"
SEED_ID = "000_0f8c7ba43273ca44"
HUGE_BYTES = 50_000_000

Outcome = Literal["rejected", "accepted", "partial"]

# --- the matrix ------------------------------------------------------------------------------


def _write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _huge_text(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = b"The ferry sailed from Lisbon at noon and reached Porto by evening, officials said.\n"
    with path.open("wb") as out:
        out.write(b"Ferry log\n\n")
        out.write(line * (HUGE_BYTES // len(line) + 1))
    return path


def _huge_jsonl(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(b'{"id": "giant", "text": "')
        out.write(b"ferry " * (HUGE_BYTES // 6))
        out.write(b'"}\n')
        record = {"id": "small-after-giant", "text": "The small ferry story still loads."}
        out.write(json.dumps(record).encode() + b"\n")
    return path


def _nested_html(path: Path) -> Path:
    depth = 25_000  # far past lxml's nesting limit; 100,000 is a unit test
    page = (
        "<html><body>"
        + "<div>" * depth
        + "<p>The deepest paragraph says the ferry sails at noon.</p>"
        + "</div>" * depth
        + "</body></html>"
    )
    return _write(path, page)


def _pdf_without_text(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return make_pdf(path, [[], []])  # two blank pages: what a scan without OCR looks like


def _pdf_truncated(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    good = make_pdf(path.with_name("whole.pdf"), [["Ferry line approved", "It sails in May."]])
    data = good.read_bytes()
    good.unlink()
    return _write(path, data[: len(data) // 2])


def _jsonl_with_a_bad_line(path: Path) -> Path:
    lines = [
        json.dumps({"id": "ferry-1", "text": "The council approved a ferry line on Friday."}),
        '{"id": "ferry-2", "text": "this line was cut off',
        json.dumps({"id": "ferry-3", "text": "The ferry will stop at Belem and Cacilhas."}),
    ]
    return _write(path, "\n".join(lines) + "\n")


def _symlink_loop(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    other = path.with_name("loop-b.txt")
    path.symlink_to(other.name)
    other.symlink_to(path.name)
    return path


def _folder_with_a_loop(path: Path) -> Path:
    _write(path / "story.txt", "Ferry news\n\nThe ferry to Cacilhas runs every 20 minutes.\n")
    (path / "inner").mkdir()
    (path / "inner" / "back").symlink_to(path, target_is_directory=True)
    return path


@dataclass(frozen=True)
class FileCase:
    """One row of the bad input matrix: a file (or path) given to ingest.

    `message` is what the one error line must match through the API and the CLI; the browser
    says it its own way (`ui_message`) when its upload checks catch the input first.
    """

    id: str
    name: str  # the file name the error must name
    build: Callable[[Path], Path]
    outcome: Outcome
    message: str = ""
    stored: tuple[str, ...] = ()  # ids an accepted or partial input adds
    text: str = ""  # a phrase the stored article must contain
    ui: bool = True  # False: not something a browser can upload (folders, missing paths)
    ui_outcome: Outcome | None = None
    ui_message: str = ""


FILE_CASES = [
    FileCase("empty-file", "empty.txt", lambda p: _write(p, b""), "rejected", "file is empty",
             ui_message="the file is empty"),
    FileCase("whitespace-only", "blank.md", lambda p: _write(p, b" \n\t\r\n   \n"), "rejected",
             "file has only whitespace"),
    FileCase("nul-bytes", "nul.txt",
             lambda p: _write(p, b"Ferry news\n" + b"\x00\x01\x02\xff binary" * 400), "rejected",
             "looks like a binary file, not text"),
    FileCase("image-as-html", "photo.html",
             lambda p: _write(p, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(4000)),
             "rejected", "looks like a binary file, not HTML"),
    FileCase("invalid-utf8", "sjis.txt",
             lambda p: _write(p, "東京のフェリーが運航を再開した。".encode("shift_jis") * 20),
             "rejected", r"not UTF-8 text \(invalid byte 0x[0-9a-f]{2} at offset \d+\); save it"),
    FileCase("invalid-utf8-high-bytes", "high.md", lambda p: _write(p, bytes(range(128, 256)) * 40),
             "rejected", r"not UTF-8 text"),
    FileCase("latin1-text", "cafe.txt",
             lambda p: _write(p, "Café opens in São Paulo\n\nThe café served crème brûlée to "
                              "300 guests on Friday, the owner said.\n".encode("latin-1")),
             "accepted", stored=("cafe",), text="crème brûlée"),
    FileCase("50mb-text", "huge.txt", _huge_text, "rejected",
             r"50\.0 MB is over the 20 MB limit \(ASSISTANT_MAX_FILE_MB\)",
             ui_message=r"50\.0 MB is over the 20 MB limit \(ASSISTANT_MAX_UPLOAD_MB\)"),
    FileCase("50mb-jsonl-line", "huge.jsonl", _huge_jsonl, "partial",
             r"huge\.jsonl:1: line is over the 20 MB limit", stored=("small-after-giant",),
             text="small ferry story", ui_outcome="rejected",
             ui_message=r"50\.0 MB is over the 20 MB limit \(ASSISTANT_MAX_UPLOAD_MB\)"),
    FileCase("deeply-nested-html", "deep.html", _nested_html, "accepted", stored=("deep",),
             text="ferry sails at noon"),
    FileCase("pdf-no-text-layer", "scan.pdf", _pdf_without_text, "rejected",
             r"PDF has no text layer \(scanned\?\)"),
    FileCase("pdf-truncated", "cut.pdf", _pdf_truncated, "rejected", "corrupt or truncated PDF"),
    FileCase("jsonl-malformed-line", "feed.jsonl", _jsonl_with_a_bad_line, "partial",
             r"feed\.jsonl:2: invalid JSON", stored=("ferry-1", "ferry-3"), text="ferry"),
    FileCase("markdown-bad-front-matter", "dated.md",
             lambda p: _write(p, "---\npublished: 2025-02-30\n---\n# Ferry\n\nIt sails.\n"),
             "rejected", "invalid YAML front matter: day is out of range for month"),
    FileCase("unknown-extension", "minutes.docx",
             lambda p: _write(p, "Ferry minutes\n\nThe board met.\n"), "rejected",
             r"unsupported file type '\.docx'", ui_message=r"\.docx files are not supported"),
    FileCase("symlink-loop", "loop-a.txt", _symlink_loop, "rejected",
             "broken or looping symbolic link", ui_message="not a file uploaded through this page"),
    FileCase("folder-with-symlink-loop", "folder", _folder_with_a_loop, "accepted",
             stored=("story",), text="every 20 minutes", ui=False),
    FileCase("missing-path", "ghost.txt", lambda p: p, "rejected", "no such file or directory",
             ui=False),
]  # fmt: skip


@dataclass(frozen=True)
class QuestionCase:
    """One row of the matrix for questions; `message` None means the question is answered."""

    id: str
    text: str
    message: str | None
    cleaned: str = ""


QUESTION_CASES = [
    QuestionCase(
        "question-100k-chars",
        "What " + "a" * 99_995,
        r"^the question is 100,000 characters long; the limit is 2,000$",
    ),
    QuestionCase("question-empty", "", r"^the question is empty$"),
    QuestionCase("question-whitespace", " \n\t  ", r"^the question is empty$"),
    QuestionCase("question-control-only", "\x00\x1b\x07\x7f\x9f", r"^the question is empty$"),
    QuestionCase(
        "question-control-mixed",
        "Who\x00 won the\x07 2022\x1b World Cup?\u200b",
        None,
        cleaned="Who won the 2022 World Cup?",
    ),
]


# --- helpers ---------------------------------------------------------------------------------


def _snapshot(store: Store) -> tuple[tuple[str, ...], int, str]:
    """What must not change when an input is rejected."""
    return (
        tuple(sorted(a.id for a in store.list_articles())),
        store.count_chunks(),
        store.revision(),
    )


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Callable[[str], Assistant]:
    """One Assistant per door (API, CLI, browser...), each on its own store holding the seed.

    The rows of one door share its store: every check compares the store just before and just
    after its own input, and the rows that add articles add different ids.
    """
    made: dict[str, Assistant] = {}

    def get(door: str) -> Assistant:
        if door not in made:
            root = tmp_path_factory.mktemp(f"store-{door}")
            a = Assistant(Settings(data_dir=root / "store"), embedder=embedder)
            report = a.ingest([SEEDS])
            assert report.ok, report.errors
            made[door] = a
        return made[door]

    return get


@pytest.fixture
def fresh(
    request: pytest.FixtureRequest, shared: Callable[[str], Assistant]
) -> Callable[[], Assistant]:
    """The shared Assistant of this test's door (the test function's name)."""
    return lambda: shared(request.function.__name__)


def _check_line(line: str, name: str, pattern: str) -> None:
    assert "\n" not in line, line
    assert name in line, f"the error does not name {name}: {line}"
    assert re.search(pattern, line), f"{pattern!r} not in {line!r}"


def _check_store_after(
    case: FileCase, outcome: Outcome, before: tuple[Any, ...], store: Store
) -> None:
    after = _snapshot(store)
    if outcome == "rejected":
        assert after == before, "a rejected input changed the store"
        return
    added = set(after[0]) - set(before[0])
    assert added == set(case.stored), (added, case.stored)
    assert set(before[0]) <= set(after[0])
    for aid in case.stored:
        stored = store.get_article(aid)
        assert stored is not None and case.text in stored.text, stored


def _upload_handler(app: Any, name: str) -> Callable[..., Any]:
    return next(f.fn for f in app.fns.values() if f.name == name)


# --- the matrix: files -----------------------------------------------------------------------


def test_every_matrix_row_is_listed_in_the_docs() -> None:
    doc = DOC.read_text(encoding="utf-8")
    ids = [c.id for c in FILE_CASES] + [c.id for c in QUESTION_CASES]
    missing = [row for row in ids if f"`{row}`" not in doc]
    assert not missing, f"rows missing from {DOC}: {missing}"


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.id)
def test_file_input_through_the_api(
    case: FileCase, tmp_path: Path, fresh: Callable[[], Assistant]
) -> None:
    a = fresh()
    path = case.build(tmp_path / "in" / case.name)
    before = _snapshot(a.store)
    report = a.ingest([path])
    if case.outcome == "accepted":
        assert report.errors == []
    else:
        assert len(report.errors) == 1, report.errors
        _check_line(report.errors[0], case.name, case.message)
    _check_store_after(case, case.outcome, before, a.store)


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.id)
def test_file_input_through_the_cli(
    case: FileCase,
    tmp_path: Path,
    fresh: Callable[[], Assistant],
    capsys: pytest.CaptureFixture[str],
) -> None:
    a = fresh()
    path = case.build(tmp_path / "in" / case.name)
    before = _snapshot(a.store)
    capsys.readouterr()
    code = main(["--data-dir", str(a.settings.data_dir), "ingest", str(path)])
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if line.startswith("error: ")]
    if case.outcome == "accepted":
        assert code == 0 and errors == [], out.err
    else:
        assert code == 1, (code, out.err)
        assert len(errors) == 1, out.err
        _check_line(errors[0], case.name, case.message)
    _check_store_after(case, case.outcome, before, a.store)


@pytest.mark.parametrize("case", [c for c in FILE_CASES if c.ui], ids=lambda c: c.id)
def test_file_input_through_the_browser_upload(
    case: FileCase,
    tmp_path: Path,
    fresh: Callable[[], Assistant],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uploads = tmp_path / "gradio-uploads"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))  # Gradio's upload folder
    a = fresh()
    path = case.build(uploads / "3f2a" / case.name)  # where Gradio puts an upload
    before = _snapshot(a.store)
    status, _, _ = _upload_handler(ui.build_app(a), "upload")([str(path)])
    errors = re.findall(r'<li class="upload-error">✗ (.*?)</li>', status)
    oks = re.findall(r'<li class="upload-ok">✓ (.*?)</li>', status)
    outcome = case.ui_outcome or case.outcome
    if outcome == "accepted":
        assert errors == [] and len(oks) == 1, status
    else:
        assert len(errors) == 1, status
        _check_line(errors[0], case.name, case.ui_message or case.message)
        assert str(uploads) not in errors[0]  # people know the file by its name
        assert len(oks) == (1 if outcome == "partial" else 0), status
    _check_store_after(case, outcome, before, a.store)


def test_the_console_script_rejects_each_bad_file_on_one_line(
    tmp_path: Path, fresh: Callable[[], Assistant]
) -> None:
    a = fresh()
    rejected = [c for c in FILE_CASES if c.outcome == "rejected"]
    paths = [str(c.build(tmp_path / c.id / c.name)) for c in rejected]
    before = _snapshot(a.store)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ASSISTANT_DATA_DIR": str(a.settings.data_dir)}
    run = subprocess.run(
        [str(ASSISTANT_BIN), "ingest", *paths],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(rejected), run.stderr
    for case in rejected:  # bad paths are reported before bad files: match them by name
        (line,) = [e for e in errors if f"/{case.id}/{case.name}" in e]
        _check_line(line, case.name, case.message)
    assert "Traceback" not in run.stderr
    assert run.stdout.startswith("0 added, 0 updated, 0 unchanged"), run.stdout
    assert _snapshot(a.store) == before


# --- the matrix: questions -------------------------------------------------------------------


@pytest.mark.parametrize("case", QUESTION_CASES, ids=lambda c: c.id)
def test_question_through_the_api(case: QuestionCase, fresh: Callable[[], Assistant]) -> None:
    a = fresh()
    before = _snapshot(a.store)
    if case.message is None:
        answer = a.ask(case.text)
        assert answer.question == case.cleaned
        assert answer.abstained  # answered, from the stored articles (which do not say)
    else:
        with pytest.raises(InputError) as info:
            a.ask(case.text)
        _check_line(str(info.value), "question", case.message)
        with pytest.raises(InputError):
            list(a.stream(case.text))
    assert _snapshot(a.store) == before


@pytest.mark.parametrize("case", QUESTION_CASES, ids=lambda c: c.id)
def test_question_through_the_cli(
    case: QuestionCase, fresh: Callable[[], Assistant], capsys: pytest.CaptureFixture[str]
) -> None:
    a = fresh()
    before = _snapshot(a.store)
    capsys.readouterr()
    code = main(["--data-dir", str(a.settings.data_dir), "ask", case.text])
    out = capsys.readouterr()
    if case.message is None:
        assert code == 0, out.err
        assert out.out.startswith("The articles do not say."), out.out
    else:
        assert code == 1 and out.out == "", (code, out)
        assert out.err.count("\n") == 1, out.err
        _check_line(out.err.strip().removeprefix("error: "), "question", case.message)
    assert _snapshot(a.store) == before


@pytest.mark.parametrize("case", QUESTION_CASES, ids=lambda c: c.id)
def test_question_through_the_browser(case: QuestionCase, fresh: Callable[[], Assistant]) -> None:
    a = fresh()
    before = _snapshot(a.store)
    ask = _upload_handler(ui.build_app(a), "ask")
    session = ui.Session()
    *_, last = ask(case.text, [], session, f"local:{WIRING_MODEL}", 5, 0.0)
    if not case.text.strip():
        # an empty box is not sent at all: nothing happens, nothing is recorded
        assert all(isinstance(x, dict) and x.get("__type__") == "update" for x in last)
        assert session.answers == []
        return
    bubble = last[1][-1]["content"]
    if case.message is None:
        assert 'class="answer abstained"' in bubble, bubble
        assert session.answers[-1].question == case.cleaned
    else:
        assert 'class="answer error"' in bubble, bubble
        shown = re.sub(r"<[^>]+>", "", bubble).strip().removeprefix("⚠ ")
        _check_line(shown, "question", case.message)
        assert session.answers == [] and session.history == []
    assert _snapshot(a.store) == before


# --- path traversal through the upload -------------------------------------------------------


def _secret(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "outside" / "secret.txt",
        "Payroll secrets\n\nThe director earns 900,000 a year, the ledger says.\n",
    )


def test_upload_handler_refuses_a_crafted_path_outside_the_upload_folder(
    tmp_path: Path, fresh: Callable[[], Assistant], monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = tmp_path / "gradio-uploads"
    (uploads / "3f2a").mkdir(parents=True)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    secret = _secret(tmp_path)
    a = fresh()
    before = _snapshot(a.store)
    crafted = f"{uploads}/3f2a/../../outside/secret.txt"
    assert Path(crafted).resolve() == secret.resolve()  # the traversal is real
    status, _, _ = _upload_handler(ui.build_app(a), "upload")([crafted])
    assert "secret.txt: not a file uploaded through this page" in status, status
    assert "upload-ok" not in status
    assert _snapshot(a.store) == before


def test_upload_handler_refuses_a_symlink_to_a_file_outside(
    tmp_path: Path, fresh: Callable[[], Assistant], monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = tmp_path / "gradio-uploads"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    link = uploads / "9c1d" / "notes.txt"
    link.parent.mkdir(parents=True)
    link.symlink_to(_secret(tmp_path))
    a = fresh()
    before = _snapshot(a.store)
    status, _, _ = _upload_handler(ui.build_app(a), "upload")([str(link)])
    assert "notes.txt: not a file uploaded through this page" in status, status
    assert _snapshot(a.store) == before
    # the check itself, without a root: symbolic links are never uploads
    assert ui.check_upload(link, 20.0) == "notes.txt: not a file uploaded through this page"


# --- server exposure: a real server on 127.0.0.1 ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    assistant: Assistant
    uploads: Path
    root: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Served]:
    """The real app over a real Assistant (seeds), in-process, with a 0.05 MB upload limit."""
    root = tmp_path_factory.mktemp("served")
    uploads = root / "gradio-uploads"
    saved = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    settings = Settings(data_dir=root / "store", port=_free_port(), max_upload_mb=0.05)
    a = Assistant(settings, embedder=embedder)
    assert a.ingest([SEEDS]).ok
    app = ui.build_app(a)
    app.queue()
    app.launch(prevent_thread_lock=True, **{**ui.launch_options(settings), "quiet": True})
    try:
        yield Served(f"http://127.0.0.1:{settings.port}", a, uploads, root)
    finally:
        app.close()
        if saved is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = saved


def _http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _post_upload(url: str, filename: str, data: bytes) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="files"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    return _http(f"{url}/gradio_api/upload", body, headers)  # type: ignore[no-any-return]


@pytest.mark.server
def test_server_binds_loopback_and_refuses_uploads_over_the_limit(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    status, body = _post_upload(served.url, "big.txt", b"x" * 60_000)
    assert status == 413, (status, body)
    assert "maximum allowed size" in body
    status, body = _post_upload(served.url, "small.txt", b"Ferry news\n\nIt sails.\n")
    assert status == 200, body


@pytest.mark.server
def test_server_stores_an_upload_named_with_dot_dots_inside_its_folder(served: Served) -> None:
    content = b"Harbour notes\n\nThe harbour master counted 73 ferries in October.\n"
    status, body = _post_upload(served.url, "../../etc/passwd.txt", content)
    assert status == 200, body
    (stored,) = json.loads(body)
    assert Path(stored).resolve().is_relative_to(served.uploads.resolve()), stored
    assert Path(stored).name == "passwd.txt"
    assert not (served.root / "etc").exists()
    before = {a.id for a in served.assistant.articles()}
    status_html, _, _ = _upload_handler(ui.build_app(served.assistant), "upload")([stored])
    assert "passwd.txt: 1 added" in status_html, status_html
    assert {a.id for a in served.assistant.articles()} - before == {"passwd"}  # a safe id
    served.assistant.remove("passwd")


@pytest.mark.server
def test_server_refuses_to_ingest_a_path_that_was_not_uploaded(
    served: Served, tmp_path: Path
) -> None:
    secret = _secret(tmp_path)
    before = _snapshot(served.assistant.store)
    payload = {"data": [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}]]}
    status, body = _http(
        f"{served.url}/gradio_api/call/upload",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, body
    event_id = json.loads(body)["event_id"]
    status, stream = _http(f"{served.url}/gradio_api/call/upload/{event_id}")
    assert "event: error" in stream, stream
    assert "Payroll" not in stream and "Traceback" not in stream
    assert _snapshot(served.assistant.store) == before


@pytest.mark.server
@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=%2Fetc%2Fpasswd",
        "/gradio_api/file=../../../../etc/passwd",
        "/gradio_api/file=pyproject.toml",
        "/gradio_api/file={root}",
        "/gradio_api/file={root}/store/chroma/chroma.sqlite3",
        "/gradio_api/file={uploads}",
        "/gradio_api/file=/tmp/",
        "/file=/etc/passwd",
        "/static/",
        "/assets/",
        "/gradio_api/",
    ],
)
def test_server_lists_no_directory_and_serves_no_file_outside_its_own(
    served: Served, path: str
) -> None:
    status, body = _http(served.url + path.format(root=served.root, uploads=served.uploads))
    assert status in (400, 403, 404), (status, body[:200])
    assert "root:" not in body and "SQLite format" not in body and "<li" not in body


@pytest.mark.server
def test_server_sends_no_stack_trace_to_the_browser(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("secret detail from /srv/db.py line 42")

    monkeypatch.setattr(served.assistant, "articles", boom)
    monkeypatch.setattr(served.assistant, "stream", boom)
    client = Client(served.url + "/", verbose=False)
    # an unexpected exception in a handler: Gradio reports that it failed, not how
    with pytest.raises(AppError) as info:
        client.predict(api_name="/article_list")
    assert "secret" not in str(info.value) and "Traceback" not in str(info.value)
    # the chat catches it and says so in one line
    model = f"local:{served.assistant.settings.llm_model}"  # the served (patched) assistant
    result = client.predict("What tariff?", [], model, 5, 0.0, api_name="/ask")
    shown = json.dumps(result)
    assert "something went wrong; see the server log" in shown, shown
    assert "secret" not in shown and "Traceback" not in shown and "db.py" not in shown


@pytest.mark.parametrize(
    ("host", "auth", "no_auth", "allowed"),
    [
        ("127.0.0.1", None, False, True),
        ("localhost", None, False, True),
        ("::1", None, False, True),
        ("127.0.0.2", None, False, True),
        ("0.0.0.0", None, False, False),
        ("192.168.1.20", "", False, False),
        ("my-host.example", None, False, False),
        ("0.0.0.0", "ann:s3cret", False, True),
        ("0.0.0.0", None, True, True),
    ],
)
def test_serving_beyond_loopback_needs_auth(
    host: str, auth: str | None, no_auth: bool, allowed: bool
) -> None:
    if allowed:
        check_exposure(host, auth, no_auth=no_auth)
    else:
        with pytest.raises(ConfigError, match=f"refusing to serve on {re.escape(host)}"):
            check_exposure(host, auth, no_auth=no_auth)


def test_serve_command_refuses_a_public_address_without_auth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ASSISTANT_AUTH", raising=False)
    assert Settings(data_dir=tmp_path).host == "127.0.0.1"  # the default binds loopback only
    code = main(["--data-dir", str(tmp_path / "s"), "serve", "--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: refusing to serve on 0.0.0.0 without a password"), err
    assert "ASSISTANT_AUTH" in err and err.count("\n") == 1
