"""Prompt templates and settings: pure checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chain import clean_question
from assistant.config import Settings
from assistant.errors import ConfigError, InputError
from assistant.prompts import REQUIRED, load_prompts


def test_packaged_prompts_load_with_their_placeholders() -> None:
    prompts = load_prompts()
    assert "{sources}" in prompts.answer and "{question}" in prompts.answer
    assert "{history}" in prompts.condense


def test_prompt_with_wrong_placeholder_is_named(tmp_path: Path) -> None:
    for name in REQUIRED:
        (tmp_path / f"{name}.md").write_text("x {history} {question}" if name == "condense" else "")
    (tmp_path / "answer.md").write_text("{today} {sources} {questoin}")
    with pytest.raises(ConfigError, match=r"answer\.md.*questoin"):
        load_prompts(tmp_path)


def test_missing_prompt_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"system\.md"):
        load_prompts(tmp_path)


def test_settings_read_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TOP_K", "7")
    monkeypatch.setenv("ASSISTANT_LLM", "openai")
    s = Settings()
    assert s.top_k == 7 and s.llm == "openai"


def test_settings_reject_unknown_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_LLM", "gpt5")
    with pytest.raises(ValueError, match="llm"):
        Settings()


def test_settings_hash_changes_with_answer_settings() -> None:
    assert Settings(top_k=3).settings_hash() != Settings(top_k=4).settings_hash()
    assert Settings(port=1).settings_hash() == Settings(port=2).settings_hash()


def test_secrets_never_show_in_repr_dumps_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(openai_api_key="sk-x", chroma_token="tok-y")
    shown = [repr(s), str(s), s.model_dump_json(), repr(s.model_dump()), f"{s!r} {s}"]
    for text in shown:
        assert "sk-x" not in text and "tok-y" not in text
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-x"
    assert s.chroma_token is not None and s.chroma_token.get_secret_value() == "tok-y"
    monkeypatch.setenv("ASSISTANT_OPENAI_API_KEY", "sk-env")
    with pytest.raises(ValueError) as info:  # a bad setting next to a secret
        Settings(top_k=0)
    assert "sk-env" not in str(info.value)
    assert Settings().openai_api_key == Settings(openai_api_key="sk-env").openai_api_key
    assert Settings(openai_api_key="a").settings_hash() == Settings().settings_hash()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  What\x00 tariff?\x07 ", "What tariff?"), ("a\n\nb", "a b")],
)
def test_clean_question(raw: str, expected: str) -> None:
    assert clean_question(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01"])
def test_empty_question_is_refused(raw: str) -> None:
    with pytest.raises(InputError, match="empty"):
        clean_question(raw)


def test_huge_question_is_refused() -> None:
    with pytest.raises(InputError, match="100,000 characters"):
        clean_question("x" * 100_000)
