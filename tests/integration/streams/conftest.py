"""What the stream-worker tests share: the worker processes a test starts, killed at
its end if still running, and the signal they stream."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from tests.records import read_record


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for worker in started:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)


@pytest.fixture
def signals(data_dir: Path) -> NDArray[np.int32]:
    """Six minutes of MIT-BIH record 100, around zero: enough to cut in the middle of
    many windows."""
    record = read_record(data_dir / "mitdb" / "100")
    return (record.signals[:, : 360 * 360] - 1024).astype(np.int32)
