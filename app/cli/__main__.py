"""``python -m app.cli``: the same as the ``journeys`` command."""

import sys

from app.cli import main

if __name__ == "__main__":  # a spawned import parser imports this module too
    sys.exit(main())
