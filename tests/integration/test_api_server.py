"""The HTTP API of a real `assistant serve` on 127.0.0.1 over seeds/, with the fast model:
JSON over httpx (as curl sends it), the `openai` client on /v1, streaming, auth, and the
`assistant timeline` command over a dated corpus written for the tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, SEEDS, WIRING_MODEL
from tests.stories import STORY, write_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.server]

START_TIMEOUT_S = 240  # imports torch, chromadb and gradio on 2 busy cores
ANSWER_TIMEOUT_S = 240
TARIFF = "What tariff did Trump threaten?"


@dataclass
class Served:
    url: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ASSISTANT_DATA_DIR": str(root / "store"),
        "ASSISTANT_LLM_MODEL": WIRING_MODEL,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "GRADIO_ANALYTICS_ENABLED": "False",
        **extra,
    }
    if "ASSISTANT_AUTH" not in extra:
        env.pop("ASSISTANT_AUTH", None)
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api")
    done = _cli(_env(root), "ingest", str(SEEDS))
    assert done.returncode == 0, done.stderr
    return root


def _serve(root: Path, **extra: str) -> Iterator[Served]:
    port = _free_port()
    log = root / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", str(port)],
            env=_env(root, **extra),
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(url + "/", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"serve did not start in {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(1)
        yield Served(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def served(seeded_dir: Path) -> Iterator[Served]:
    """`assistant serve` over seeds/ on a free 127.0.0.1 port, auth off."""
    yield from _serve(seeded_dir)


@pytest.fixture(scope="module")
def asked(served: Served) -> dict[str, Any]:
    """POST /api/ask as `curl -d` sends it (a form content type, a JSON body)."""
    r = httpx.post(
        served.url + "/api/ask",
        content=json.dumps({"question": TARIFF}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=ANSWER_TIMEOUT_S,
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_api_ask_returns_a_cited_answer_with_exact_offsets(
    served: Served, asked: dict[str, Any]
) -> None:
    assert not asked["abstained"], asked
    assert "100%" in asked["answer"] and "[1]" in asked["answer"]
    assert asked["citations"]
    for c in asked["citations"]:
        article = httpx.get(f"{served.url}/api/articles/{c['article_id']}", timeout=30).json()
        assert article["text"][c["start"] : c["end"]] == c["quote"]
    assert any("100% tariff" in c["quote"] for c in asked["citations"])
    assert asked["model"].startswith("qwen2.5-coder-0.5b")


def test_openai_client_gets_the_same_answer_plain_and_streamed(
    served: Served, asked: dict[str, Any]
) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=served.url + "/v1", api_key="unused", timeout=ANSWER_TIMEOUT_S)
    (model,) = [m.id for m in client.models.list()]
    assert model == asked["model"]
    messages: Any = [{"role": "user", "content": TARIFF}]
    reply = client.chat.completions.create(model=model, messages=messages)
    assert reply.choices[0].message.content == asked["answer"]
    assert reply.choices[0].finish_reason == "stop"
    extra = reply.model_extra or {}
    assert extra["citations"] == asked["citations"] and extra["abstained"] is False

    text, last = "", None
    for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        last = chunk
    assert text == asked["answer"]
    assert last is not None and last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["citations"] == asked["citations"]


def test_bad_requests_get_400_and_one_line(served: Served) -> None:
    r = httpx.post(served.url + "/api/ask", content='{"questio": "typo"}', timeout=30)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "question: Field required"
    from openai import BadRequestError, OpenAI

    client = OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(BadRequestError, match="the question is empty"):
        client.chat.completions.create(model="x", messages=[{"role": "user", "content": " "}])


def test_api_ingest_and_articles(served: Served) -> None:
    article = {
        "id": "bike-lanes",
        "title": "City council approves new bike lanes",
        "source": "Local Gazette",
        "published": "2025-05-02",
        "text": "City council approves new bike lanes\nThe council approved twelve miles of lanes.",
    }
    r = httpx.post(served.url + "/api/ingest", json={"articles": [article]}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["added"] == ["bike-lanes"] and r.json()["errors"] == []
    again = httpx.post(served.url + "/api/ingest", json={"articles": [article]}, timeout=120)
    assert again.json()["unchanged"] == ["bike-lanes"]
    listed = {a["id"]: a for a in httpx.get(served.url + "/api/articles", timeout=30).json()}
    assert listed["bike-lanes"]["published"] == "2025-05-02"
    assert "000_0f8c7ba43273ca44" in listed


def test_auth_on_rejects_a_missing_password(seeded_dir: Path) -> None:
    from openai import AuthenticationError, OpenAI

    for secured in _serve(seeded_dir, ASSISTANT_AUTH="ann:s3cret"):
        question = {"question": TARIFF}
        missing = httpx.post(secured.url + "/api/ask", json=question, timeout=30)
        assert missing.status_code == 401
        assert "password" in missing.json()["error"]["message"]
        wrong = httpx.get(secured.url + "/api/articles", auth=("ann", "nope"), timeout=30)
        assert wrong.status_code == 401
        assert httpx.get(secured.url + "/config", timeout=30).status_code == 401  # the chat too
        ok = httpx.get(secured.url + "/api/articles", auth=("ann", "s3cret"), timeout=30)
        assert ok.status_code == 200 and ok.json()
        with pytest.raises(AuthenticationError):
            OpenAI(base_url=secured.url + "/v1", api_key="wrong", max_retries=0).models.list()
        keyed = OpenAI(base_url=secured.url + "/v1", api_key="ann:s3cret", max_retries=0)
        assert len(keyed.models.list().data) == 1


def test_timeline_command_lists_dated_cited_events(tmp_path: Path) -> None:
    env = _env(tmp_path)
    done = _cli(env, "ingest", str(write_jsonl(tmp_path / "story.jsonl")))
    assert done.returncode == 0, done.stderr
    listed = _cli(env, "timeline", STORY, "--json")
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)["events"]
    assert [(e["day"], e["citation"]["article_id"]) for e in events] == [
        ("2025-04-04", "wire-reuters"),
        ("2025-06-03", "magnets"),
        ("2025-10-09", "widened"),
        ("2025-10-10", "tariff"),
    ]
    wire = events[0]["citation"]
    assert [o["source"] for o in wire["also_in"]] == ["AP"]  # the republished copy, merged
    texts = {a["id"]: a["text"] for a in map(json.loads, (tmp_path / "story.jsonl").open())}
    for e in events:
        c = e["citation"]
        assert texts[c["article_id"]][c["start"] : c["end"]] == c["quote"] == e["text"]
    human = _cli(env, "timeline", STORY)
    assert human.returncode == 0
    assert human.stdout.splitlines()[0].startswith("2025-04-04   BEIJING — On April 4")
    assert "also published by: AP" in human.stdout
