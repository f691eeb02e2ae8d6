"""Part 5 reads the worker's state from the changelog of its state table."""

from __future__ import annotations

from bench.open_streams import changelog_topic


def test_the_state_tables_changelog_is_named_as_faust_names_it() -> None:
    assert changelog_topic("ecg-pipeline") == "ecg-pipeline-ecg-stream-state-changelog"
