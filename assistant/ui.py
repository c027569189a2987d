"""The browser chat (Gradio); the only module that imports gradio."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.types import Answer

if TYPE_CHECKING:
    import gradio as gr

    from assistant.chain import Assistant


def build_app(assistant: Assistant) -> gr.Blocks:
    """The chat app over `assistant`."""
    import gradio as gr

    def respond(message: str, history: list[dict[str, Any]]) -> Iterator[str]:
        pairs: list[tuple[str, str]] = []
        user = None
        for turn in history:
            if turn.get("role") == "user":
                user = str(turn.get("content", ""))
            elif user is not None:
                pairs.append((user, str(turn.get("content", ""))))
                user = None
        text = ""
        try:
            for piece in assistant.stream(message, history=pairs):
                if isinstance(piece, Answer):
                    yield _render(piece)
                else:
                    text += piece
                    yield text
        except AssistantError as exc:
            yield f"⚠️ {exc}"

    with gr.Blocks(title="News assistant") as app:
        gr.Markdown("# News assistant\nAnswers from your articles, with citations you can check.")
        gr.ChatInterface(respond)
    return app


def _render(answer: Answer) -> str:
    if answer.abstained:
        return f"*{answer.text}*"
    lines = [answer.text, ""]
    for c in answer.citations:
        lines.append(f"[{c.n}] **{c.title}** — “{c.quote}”")
    return "\n".join(lines)


def serve(assistant: Assistant) -> None:
    """Serve the chat on the configured host and port (blocks)."""
    app = build_app(assistant)
    auth = None
    if assistant.settings.auth:
        user, _, password = assistant.settings.auth.partition(":")
        auth = (user, password)
    app.queue(default_concurrency_limit=assistant.settings.max_queue).launch(
        server_name=assistant.settings.host,
        server_port=assistant.settings.port,
        auth=auth,
        show_error=False,
    )
