"""Getting customer data in: importers and the demo data.

    from app.ingest import import_files, seed_demo_events
    summary = import_files(database, ["batches.jsonl.gz"], format="mparticle",
                           input_id="in-streaming-ios", progress=print)
    print(summary.text(), *summary.rejections, sep="\\n")

Modules: ``importer`` (files → chunked transactions, progress, cancellation),
``mparticle``, ``segment``, ``csv_format`` (one parser per format), ``values``
(the shared checks and the words of rejection reasons), ``sources`` (streaming
file reading), ``chunking`` (cutting records into parts and chunks),
``parse_process`` (parsing large imports in a process of their own), ``pipeline``
(storing on a background thread), ``demo_data`` (the seeded demo users and events)
and ``demo_account`` (the first-run account).
The event tables themselves are written only by ``app.store.event_writer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.lazy import lazy_exports

if TYPE_CHECKING:
    from app.ingest.chunking import Rejection
    from app.ingest.demo_data import DEMO_USERS, seed_demo_events, write_demo_files
    from app.ingest.importer import FORMATS, ImportSummary, Progress, import_files

# Loaded on first use (PEP 562): the parsing process of an import loads only the
# parsers, not the importer and the store behind it.
_WHERE: dict[str, str | None] = {
    "Rejection": "app.ingest.chunking", "DEMO_USERS": "app.ingest.demo_data",
    "seed_demo_events": "app.ingest.demo_data", "write_demo_files": "app.ingest.demo_data",
    "FORMATS": "app.ingest.importer", "ImportSummary": "app.ingest.importer",
    "Progress": "app.ingest.importer", "import_files": "app.ingest.importer",
}
__getattr__ = lazy_exports(__name__, _WHERE)


__all__ = [
    "DEMO_USERS",
    "FORMATS",
    "ImportSummary",
    "Progress",
    "Rejection",
    "import_files",
    "seed_demo_events",
    "write_demo_files",
]
