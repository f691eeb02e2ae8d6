"""The state that lets ``ecg import`` resume: kept whole, the user's alone, found again
by the same import and by no other."""

from __future__ import annotations

import stat
from pathlib import Path

from client.importing.state import STREAM, UPLOAD, ImportState, StateStore
from client.settings import ClientSettings


def test_a_state_is_kept_and_read_back(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state" / "imports")
    key = store.key({"files": [["/data/100.hea", 1, 2]], "user": "u@example.org"})
    assert store.load(key) is None
    state = ImportState("ecg-id", STREAM, 32768, next_seq=7, path="/data/100")
    store.save(key, state)
    assert store.load(key) == state
    store.save(key, ImportState("ecg-id", STREAM, 32768, next_seq=8, done=True))
    assert store.load(key) == ImportState("ecg-id", STREAM, 32768, next_seq=8, done=True)
    assert [path.name for path in store.directory.iterdir()] == [f"{key}.json"]
    store.forget(key)
    store.forget(key)
    assert store.load(key) is None


def test_the_state_is_the_users_alone(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "imports")
    key = store.key({})
    store.save(key, ImportState("ecg-id", UPLOAD, 1))
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((store.directory / f"{key}.json").stat().st_mode) == 0o600


def test_another_import_has_another_key(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    one = {"files": [["/data/100.hea", 1, 2]], "user": "u@example.org"}
    assert store.key(one) == store.key(dict(reversed(one.items())))
    assert store.key(one) != store.key({**one, "files": [["/data/100.hea", 1, 3]]})


def test_an_unreadable_state_is_none(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"unexpected": 1}')
    assert store.load("broken") is None
    assert store.load("other") is None


def test_the_state_directory_follows_xdg() -> None:
    settings = ClientSettings.from_env({"XDG_STATE_HOME": "/var/state", "HOME": "/home/u"})
    assert settings.import_state_dir == Path("/var/state/ecg-pipeline/imports")
    settings = ClientSettings.from_env({"XDG_STATE_HOME": "relative", "HOME": "/home/u"})
    assert settings.import_state_dir == Path("/home/u/.local/state/ecg-pipeline/imports")
    assert ClientSettings.from_env({}).import_state_dir is None
