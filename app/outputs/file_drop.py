"""File drop: each delivery as a data file and its manifest in a folder another system reads.

Per delivery, two files named ``<audience>_<UTC time>_<idempotency key>``:

- ``….csv`` (``action,user_id,<identity types…>``, one user a row) or ``….jsonl``
  (``{"action", "user_id", "identities"}`` a line); ``action`` is ``add`` or ``delete``;
- ``….manifest.json``: the audience, the connection, the time, the counts and each
  data file with its size and SHA-256, written last: a reader that waits for
  manifests only ever opens complete data files, and can check them.

Every file is written under a hidden temporary name in the same folder, flushed
to disk and then renamed over its final name (``os.replace``), so a reader never
sees half a file. A delivery sent again (after a crash or a retry) finds its
earlier files by the idempotency key and writes over them, so the folder never
holds the same change twice.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from app.core.partners import FileDropSettings, PartnerSettings
from app.outputs.base import Delivered, Delivery, Fault, Outcome, Profile, RetryAfter

MANIFEST_SUFFIX = ".manifest.json"
TEMP_PREFIX = ".journey-studio-"


@dataclass(frozen=True)
class Written:
    """One data file as the manifest describes it."""

    name: str
    rows: int
    size: int
    sha256: str


def safe(text: str, limit: int = 60) -> str:
    """``text`` as part of a file name on any system: letters, digits, ``-`` and ``_``."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return cleaned[:limit] or "audience"


def stem(folder: Path, delivery: Delivery) -> str:
    """The delivery's file name without extension; an earlier attempt's when there is one."""
    key = safe(delivery.idempotency_key, 128)
    for earlier in sorted(folder.glob(f"*_{key}.*")):
        if not earlier.name.startswith("."):
            return earlier.name.split(f"_{key}.", 1)[0] + f"_{key}"
    sent = delivery.sent_at
    when = (sent.astimezone(dt.UTC) if sent.tzinfo else sent).strftime("%Y%m%dT%H%M%SZ")
    return f"{safe(delivery.audience_name)}_{when}_{key}"


def changes(delivery: Delivery) -> Iterator[tuple[str, Profile]]:
    for profile in delivery.adds:
        yield "add", profile
    for profile in delivery.deletes:
        yield "delete", profile


def csv_bytes(delivery: Delivery) -> bytes:
    """The CSV: ``action,user_id`` then one column per identity type the users have."""
    kinds = sorted({kind for _, p in changes(delivery) for kind in p.identities})
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["action", "user_id", *kinds])
    for action, profile in changes(delivery):
        writer.writerow([action, profile.user_id,
                         *(profile.identities.get(kind, "") for kind in kinds)])
    return text.getvalue().encode("utf-8")


def jsonl_bytes(delivery: Delivery) -> bytes:
    return b"".join(
        orjson.dumps({"action": action, "user_id": p.user_id,
                      "identities": dict(p.identities)}) + b"\n"
        for action, p in changes(delivery)
    )


def write_atomically(folder: Path, name: str, content: bytes) -> None:
    """Write ``content`` to ``folder/name`` so that no reader ever sees it half written."""
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def manifest(delivery: Delivery, files: Sequence[Written], file_format: str) -> dict[str, Any]:
    return {
        "type": "audience_membership_change",
        "id": delivery.idempotency_key,
        "created_at": delivery.sent_at.isoformat(),
        "audience": {"id": delivery.audience_id, "name": delivery.audience_name},
        "connection": {"id": delivery.connection_id, "name": delivery.connection_name},
        "output_id": delivery.output_id,
        "format": file_format,
        "counts": {"add": len(delivery.adds), "delete": len(delivery.deletes)},
        "files": [{"name": f.name, "rows": f.rows, "bytes": f.size, "sha256": f.sha256}
                  for f in files],
    }


def folder_problem(folder: Path) -> Fault | None:
    """Why nothing can be written in ``folder``, in words naming it; None when it can."""
    if not folder.exists():
        return Fault(f"The folder “{folder}” does not exist.")
    if not folder.is_dir():
        return Fault(f"“{folder}” is a file, not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        return Fault(f"Journey Studio may not write in the folder “{folder}”.")
    return None


def os_outcome(error: OSError, folder: Path) -> Outcome:
    """A failed write: a refusal faults; a full disk or a passing error is retried."""
    if isinstance(error, PermissionError):
        return Fault(f"Journey Studio may not write in the folder “{folder}”.")
    if isinstance(error, FileNotFoundError | NotADirectoryError):
        return Fault(f"The folder “{folder}” does not exist.")
    what = error.strerror or type(error).__name__
    return RetryAfter(f"Writing in the folder “{folder}” failed ({what}); "
                      "it will be written again later.")


class FileDropConnector:
    """Writes each delivery as a data file plus a manifest, atomically."""

    partner = "file_drop"

    def send(self, delivery: Delivery) -> Outcome:
        settings = delivery.settings
        if not isinstance(settings, FileDropSettings):
            return Fault("The connection’s settings are not a file drop’s.")
        folder = Path(settings.folder).expanduser()
        problem = folder_problem(folder)
        if problem is not None:
            return problem
        if not delivery.adds and not delivery.deletes:
            return Delivered(requests=0)
        try:
            name = stem(folder, delivery)
            content = csv_bytes(delivery) if settings.format == "csv" else jsonl_bytes(delivery)
            data = Written(f"{name}.{settings.format}",
                           len(delivery.adds) + len(delivery.deletes), len(content),
                           hashlib.sha256(content).hexdigest())
            write_atomically(folder, data.name, content)
            about = json.dumps(manifest(delivery, [data], settings.format), indent=2,
                               ensure_ascii=False).encode("utf-8") + b"\n"
            write_atomically(folder, name + MANIFEST_SUFFIX, about)
        except OSError as error:
            return os_outcome(error, folder)
        return Delivered(requests=2)

    def test(self, settings: PartnerSettings, secret: str | None) -> Outcome:
        """Write a small probe file in the folder and remove it again."""
        if not isinstance(settings, FileDropSettings):
            return Fault("The connection’s settings are not a file drop’s.")
        folder = Path(settings.folder).expanduser()
        problem = folder_problem(folder)
        if problem is not None:
            return problem
        probe = folder / f"{TEMP_PREFIX}probe-{uuid.uuid4().hex}"
        try:
            write_atomically(folder, probe.name, b"Journey Studio connection test\n")
            probe.unlink()
        except OSError as error:
            return os_outcome(error, folder)
        return Delivered(requests=1)


CONNECTOR = FileDropConnector()
