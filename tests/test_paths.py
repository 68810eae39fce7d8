"""Where the practice database lives (SPEC §2): --db > MEDMASSAGE_DB > the platformdirs folder.

medmassage works the user data folder out by hand (importing platformdirs is slow); these
tests hold it to platformdirs itself under the same environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from medmassage import paths

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX data folders")


def expected_dir() -> Path:
    return Path(platformdirs.user_data_dir("medmassage", appauthor=False))


def test_default_data_dir_matches_platformdirs_with_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert paths.default_data_dir() == expected_dir()
    if sys.platform.startswith("linux"):
        assert paths.default_data_dir() == tmp_path / "xdg-data" / "medmassage"


def test_default_data_dir_matches_platformdirs_without_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    assert paths.default_data_dir() == expected_dir()
    if sys.platform.startswith("linux"):
        assert paths.default_data_dir() == tmp_path / "someone" / ".local" / "share" / "medmassage"


@posix_only
@pytest.mark.parametrize("value", ["", "   "])
def test_default_data_dir_treats_an_empty_xdg_data_home_as_unset(monkeypatch, tmp_path, value):
    monkeypatch.setenv("XDG_DATA_HOME", value)
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    assert paths.default_data_dir() == expected_dir()


@posix_only
@pytest.mark.parametrize("value", ["data", "~/data"])
def test_default_data_dir_ignores_a_relative_xdg_data_home(monkeypatch, tmp_path, value):
    """The XDG spec (and platformdirs) ignore relative paths. Taken as given, a relative value
    puts the practice file under the current folder: a different, empty practice in every
    folder the therapist happens to run medmassage from ("~/data" is a quoting slip in a shell
    profile that leaves the tilde unexpanded)."""
    monkeypatch.setenv("XDG_DATA_HOME", value)
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    monkeypatch.chdir(tmp_path)
    assert paths.default_data_dir() == expected_dir()
    assert paths.default_data_dir().is_absolute()


@posix_only
def test_default_data_dir_on_macos_matches_platformdirs(monkeypatch, tmp_path):
    """The darwin branch against platformdirs' own macOS rules, run here by pretending to be
    on macOS. The installed platformdirs honours an absolute XDG_DATA_HOME on macOS too."""
    from platformdirs.macos import MacOS

    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(sys, "platform", "darwin")
    mac_default = Path(MacOS("medmassage", appauthor=False).user_data_dir)
    assert paths.default_data_dir() == mac_default
    assert mac_default == tmp_path / "someone" / "Library" / "Application Support" / "medmassage"

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert paths.default_data_dir() == Path(MacOS("medmassage", appauthor=False).user_data_dir)


def test_default_db_path_is_practice_db_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert paths.default_db_path() == expected_dir() / "practice.db"


def test_resolve_db_path_prefers_the_option(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDMASSAGE_DB", str(tmp_path / "env.db"))
    assert paths.resolve_db_path(str(tmp_path / "option.db")) == (
        tmp_path / "option.db",
        "--db option",
    )


def test_resolve_db_path_uses_the_environment_without_option(monkeypatch, tmp_path):
    monkeypatch.setenv("MEDMASSAGE_DB", str(tmp_path / "env.db"))
    assert paths.resolve_db_path(None) == (tmp_path / "env.db", "MEDMASSAGE_DB")


def test_resolve_db_path_falls_back_to_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("MEDMASSAGE_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert paths.resolve_db_path(None) == (expected_dir() / "practice.db", "default data folder")
    monkeypatch.setenv("MEDMASSAGE_DB", "   ")  # blank counts as unset
    assert paths.resolve_db_path(None)[0] == expected_dir() / "practice.db"


def test_resolve_db_path_expands_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "someone"))
    monkeypatch.setenv("MEDMASSAGE_DB", "~/clinic/env.db")
    assert paths.resolve_db_path(None)[0] == tmp_path / "someone" / "clinic" / "env.db"
    assert paths.resolve_db_path("~/option.db")[0] == tmp_path / "someone" / "option.db"
