"""The environment of an `assistant` console script run by a test on a store of its own."""

from __future__ import annotations

import os
from pathlib import Path


def cli_env(data_dir: Path, chunk_size: int) -> dict[str, str]:
    """This process's environment, with the store in `data_dir` and chunks of `chunk_size`."""
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_CHUNK_SIZE": str(chunk_size),
        "ASSISTANT_CHUNK_OVERLAP": "0",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
