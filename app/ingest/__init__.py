"""Getting customer data in: importers and the demo data.

    from app.ingest import import_files, seed_demo_events
    summary = import_files(database, ["batches.jsonl.gz"], format="mparticle",
                           input_id="in-streaming-ios", progress=print)
    print(summary.text(), *summary.rejections, sep="\\n")

Modules: ``importer`` (files → chunked transactions, progress, cancellation),
``mparticle``, ``segment``, ``csv_format`` (one parser per format), ``values``
(the shared checks and the words of rejection reasons), ``sources`` (streaming
file reading), ``pipeline`` (storing on a background thread), ``demo_data`` (the
seeded demo users and events) and ``demo_account`` (the first-run account).
The event tables themselves are written only by ``app.store.event_writer``.
"""

from app.ingest.demo_data import DEMO_USERS, seed_demo_events, write_demo_files
from app.ingest.importer import (
    FORMATS,
    ImportSummary,
    Progress,
    Rejection,
    import_files,
)

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
