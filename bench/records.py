"""The public records the benchmarks read: the repository's ``data/`` folder (see
``data/README.md`` for their source and license)."""

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
