"""Where start-up caches go when the user's cache folder cannot be written: a private folder in the temporary
directory, and never a folder another user owns or can write into (cached code is loaded from it)."""
from __future__ import annotations

import os
import sys

import pytest

from mlsysim import _cache

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid") or sys.platform != "linux", reason="POSIX cache folders")


@pytest.fixture
def unwritable_home(monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))  # below a file: mkdir fails, even for root
    monkeypatch.setenv("MLSYSIM_CACHE", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp"


def test_an_unwritable_cache_home_falls_back_to_a_private_temporary_folder(unwritable_home):
    folder = _cache.cache_dir("code", "py311")
    private = unwritable_home / f"mlsysim-cache-{os.getuid()}"
    assert folder == private / "mlsysim" / "code" / "py311" and folder.is_dir()
    assert private.stat().st_mode & 0o777 == 0o700


def test_a_temporary_folder_others_can_write_is_not_used(unwritable_home):
    private = unwritable_home / f"mlsysim-cache-{os.getuid()}"
    private.mkdir()
    private.chmod(0o777)  # anyone could plant a cached code file here
    assert _cache.cache_dir("code") is None
    private.chmod(0o700)
    assert _cache.cache_dir("code") == private / "mlsysim" / "code"


def test_the_cache_stays_off_when_asked(unwritable_home, monkeypatch):
    monkeypatch.setenv("MLSYSIM_CACHE", "0")
    assert _cache.cache_dir("code") is None
