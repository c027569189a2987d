"""The assistant's errors: each carries one clear line; only cli.py and assistant/ui print them."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: `str(err)` is a one-line message naming the file, setting or server."""


class InputError(AssistantError):
    """A file or question the assistant cannot use (empty, binary, undecodable, too large...)."""


class FetchError(InputError):
    """A URL could not be fetched or is not an article or feed (the message names the URL)."""


class ConfigError(AssistantError):
    """A setting is wrong or names something that does not exist."""


class StoreError(AssistantError):
    """The vector store is unreachable or inconsistent (e.g. a different embedding model)."""


class ModelError(AssistantError):
    """A model could not be assembled, verified, loaded or reached."""


class BusyError(AssistantError):
    """Too many questions are waiting for the model; try again shortly."""


class SuiteError(AssistantError):
    """An eval suite file is malformed (the message names the file and line)."""
