"""The composer's DraftStore (core/store/drafts.py): atomic, private, tolerant of a damaged file."""

from __future__ import annotations

import os
import stat

from calle_tui.core.store.drafts import DraftStore


def test_round_trip_private_and_no_temp_files_left(tmp_path):
    store = DraftStore(tmp_path / "state" / "draft.json")
    assert store.load() is None
    store.save({"request": "Call +14155550123 — 予約", "fields": {"language": "Japanese"}})
    assert store.load() == {"request": "Call +14155550123 — 予約", "fields": {"language": "Japanese"}}
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["draft.json"]
    store.clear()
    assert store.load() is None
    store.clear()  # clearing twice is fine


def test_damaged_or_foreign_file_reads_as_no_draft(tmp_path):
    path = tmp_path / "draft.json"
    path.write_text("{not json")
    assert DraftStore(path).load() is None
    path.write_text("[1, 2]")
    assert DraftStore(path).load() is None


def test_a_failed_write_keeps_the_previous_draft(tmp_path, monkeypatch):
    store = DraftStore(tmp_path / "draft.json")
    store.save({"request": "first"})

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    try:
        store.save({"request": "second"})
    except OSError:
        pass
    else:  # pragma: no cover - the write must fail loudly
        raise AssertionError("save() swallowed the error")
    monkeypatch.undo()
    assert store.load() == {"request": "first"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["draft.json"]
