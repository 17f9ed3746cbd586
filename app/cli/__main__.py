"""``python -m app.cli``: the same as the ``journeys`` command."""

import sys

from app.cli import main

if __name__ == "__main__":  # as multiprocessing asks of main modules (imports spawn)
    sys.exit(main())
