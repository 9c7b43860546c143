"""Atomic writes: a file appears whole or not at all, and a "new" file never replaces one."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.fsutil import atomic_writer


def test_a_new_file_never_replaces_one_that_appeared_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    with pytest.raises(FileExistsError), atomic_writer(path, new=True) as fh:
        fh.write("ours\n")
        path.write_text("theirs\n")  # someone else's file, made while the export ran
    assert path.read_text() == "theirs\n" and [p.name for p in tmp_path.iterdir()] == ["export.jsonl"]
    fresh = tmp_path / "fresh.jsonl"
    with atomic_writer(fresh, new=True) as fh:
        fh.write("ours\n")
    assert fresh.read_text() == "ours\n" and fresh.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.jsonl", "fresh.jsonl"]


def test_a_block_that_fails_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("before\n")
    with pytest.raises(RuntimeError), atomic_writer(path) as fh:
        fh.write("half")
        raise RuntimeError
    assert path.read_text() == "before\n" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    with atomic_writer(path) as fh:  # without "new", a finished file replaces the old one
        fh.write("after\n")
    assert path.read_text() == "after\n"
