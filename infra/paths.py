"""Where things live: the repository, the tooling's own files, the download cache."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
REPO_ROOT = INFRA_DIR.parent


def cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``$ECG_CACHE_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/ecg-pipeline``.

    Outside the repository, shared by every checkout and every run."""
    explicit = env.get("ECG_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "ecg-pipeline"
