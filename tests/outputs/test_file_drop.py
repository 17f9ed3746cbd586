"""The file drop: data files and manifests as a reading system finds them."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.partners import FileDropSettings
from app.outputs import file_drop, registry
from app.outputs.base import Delivered, Fault, Profile, RetryAfter
from app.outputs.file_drop import CONNECTOR
from tests.outputs.conftest import SENT_AT, make_delivery

ADA = Profile("u1", {"email": "ada@example.com", "customer_id": "C1"})
BOB = Profile("u2", {"mobile_number": "+15550100"})
GONE = Profile("u9", {"email": "gone@example.com"})


def settings(folder: Path, file_format: str = "csv") -> FileDropSettings:
    return FileDropSettings(folder=str(folder), format=file_format)


def files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def read_manifest(folder: Path) -> dict[str, object]:
    (manifest,) = folder.glob("*.manifest.json")
    found: dict[str, object] = json.loads(manifest.read_text(encoding="utf-8"))
    return found


def test_registry_serves_the_file_drop_connector() -> None:
    assert registry.connector("file_drop") is CONNECTOR


def test_a_csv_delivery_and_its_manifest(tmp_path: Path) -> None:
    delivery = make_delivery(settings(tmp_path), adds=[ADA, BOB], deletes=[GONE], key="k-42")

    assert CONNECTOR.send(delivery) == Delivered(requests=2)

    stem = "Lapsed-buyers_20261203T010203Z_k-42"
    assert files(tmp_path) == [f"{stem}.csv", f"{stem}.manifest.json"]
    data = (tmp_path / f"{stem}.csv").read_bytes()
    assert list(csv.reader(data.decode().splitlines())) == [
        ["action", "user_id", "customer_id", "email", "mobile_number"],
        ["add", "u1", "C1", "ada@example.com", ""],
        ["add", "u2", "", "", "+15550100"],
        ["delete", "u9", "", "gone@example.com", ""],
    ]
    assert read_manifest(tmp_path) == {
        "type": "audience_membership_change",
        "id": "k-42",
        "created_at": SENT_AT.isoformat(),
        "audience": {"id": "aud-7", "name": "Lapsed buyers"},
        "connection": {"id": "con-3", "name": "Receiver"},
        "output_id": "out-1",
        "format": "csv",
        "counts": {"add": 2, "delete": 1},
        "files": [{"name": f"{stem}.csv", "rows": 3, "bytes": len(data),
                   "sha256": hashlib.sha256(data).hexdigest()}],
    }


def test_a_json_lines_delivery(tmp_path: Path) -> None:
    CONNECTOR.send(make_delivery(settings(tmp_path, "jsonl"), adds=[ADA], deletes=[GONE]))
    (data_file,) = tmp_path.glob("*.jsonl")
    lines = [json.loads(line) for line in data_file.read_text().splitlines()]
    assert lines == [
        {"action": "add", "user_id": "u1",
         "identities": {"email": "ada@example.com", "customer_id": "C1"}},
        {"action": "delete", "user_id": "u9", "identities": {"email": "gone@example.com"}},
    ]
    entries = read_manifest(tmp_path)["files"]
    assert isinstance(entries, list)
    (entry,) = entries
    assert entry["sha256"] == hashlib.sha256(data_file.read_bytes()).hexdigest()


def test_a_delivery_sent_again_overwrites_its_own_files(tmp_path: Path) -> None:
    first = make_delivery(settings(tmp_path), adds=[ADA], key="same")
    CONNECTOR.send(first)
    before = files(tmp_path)
    CONNECTOR.send(replace(first, sent_at=SENT_AT + dt.timedelta(minutes=5)))
    assert files(tmp_path) == before
    CONNECTOR.send(make_delivery(settings(tmp_path), adds=[BOB], key="other"))
    assert len(files(tmp_path)) == 4


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    CONNECTOR.send(make_delivery(settings(tmp_path), adds=[ADA] * 1000))
    assert not [name for name in files(tmp_path) if name.startswith(".")]


def test_a_failed_rename_leaves_neither_half_a_file_nor_a_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_space(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(file_drop.os, "replace", no_space)
    result = CONNECTOR.send(make_delivery(settings(tmp_path), adds=[ADA]))
    assert isinstance(result, RetryAfter)
    assert "No space left on device" in result.reason and str(tmp_path) in result.reason
    assert files(tmp_path) == []


def test_a_missing_folder_faults_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CONNECTOR.send(make_delivery(settings(missing), adds=[ADA]))
    assert result == Fault(f"The folder “{missing}” does not exist.")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="folder permissions do not bind the superuser (or Windows ACLs)")
def test_an_unwritable_folder_faults_naming_it(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = CONNECTOR.send(make_delivery(settings(locked), adds=[ADA]))
        assert result == Fault(f"Journey Studio may not write in the folder “{locked}”.")
        assert CONNECTOR.test(settings(locked), None) == result
    finally:
        locked.chmod(0o700)


def test_a_write_refused_by_the_system_faults_naming_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where permissions do bind (a share, a read-only mount): the write itself is refused."""
    def refused(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(file_drop.tempfile, "mkstemp", refused)
    result = CONNECTOR.send(make_delivery(settings(tmp_path), adds=[ADA]))
    assert result == Fault(f"Journey Studio may not write in the folder “{tmp_path}”.")


def test_connection_test_writes_and_removes_a_probe(tmp_path: Path) -> None:
    assert CONNECTOR.test(settings(tmp_path), None) == Delivered(requests=1)
    assert files(tmp_path) == []


def test_connection_test_of_a_missing_folder_faults(tmp_path: Path) -> None:
    result = CONNECTOR.test(settings(tmp_path / "gone"), None)
    assert isinstance(result, Fault) and "does not exist" in result.reason
