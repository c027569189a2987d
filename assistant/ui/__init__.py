"""The browser chat (Gradio): `build_app(assistant) -> gr.Blocks` (served by `assistant.api`).

`app` composes the page from its sections (chat, sources, article view, library, timeline,
settings) and, with `assistant.api` which mounts it, is the only module that imports gradio;
`render` builds every piece of HTML from escaped text (pure, unit-tested); `session` holds
per-browser state and the pool of models the sessions share; `uploads` checks uploaded files;
`static/` holds the page's CSS and JS.
"""

from __future__ import annotations

from assistant.ui.app import build_app, launch_options, warm_up, watch_store
from assistant.ui.render import (
    ABSTAIN_HEADLINE,
    abstention_reason,
    answer_to_markdown,
    format_seconds,
    locate_quote,
    render_answer_html,
    render_article_html,
    render_article_list_html,
    render_article_placeholder,
    render_error_html,
    render_sources_html,
    render_streaming_html,
    render_timeline_html,
    render_trace_html,
)
from assistant.ui.session import (
    MAX_MODELS_LOADED,
    MAX_TURNS_KEPT,
    Session,
    _Assistants,
    model_choices,
)
from assistant.ui.uploads import UPLOAD_SUFFIXES, check_upload

__all__ = [
    "ABSTAIN_HEADLINE",
    "MAX_MODELS_LOADED",
    "MAX_TURNS_KEPT",
    "UPLOAD_SUFFIXES",
    "Session",
    "_Assistants",
    "abstention_reason",
    "answer_to_markdown",
    "build_app",
    "check_upload",
    "format_seconds",
    "launch_options",
    "locate_quote",
    "model_choices",
    "render_answer_html",
    "render_article_html",
    "render_article_list_html",
    "render_article_placeholder",
    "render_error_html",
    "render_sources_html",
    "render_streaming_html",
    "render_timeline_html",
    "render_trace_html",
    "warm_up",
    "watch_store",
]
