"""Which connector serves which partner kind: one module a partner, loaded when first used.

Opening the window needs no connector (and so no HTTP client); the dispatcher,
a connection test or ``journeys run`` asks for one by partner kind.
"""

from __future__ import annotations

import importlib

from app.core import errors
from app.outputs.base import Connector

MODULES: dict[str, str] = {
    "webhook": "app.outputs.webhook",
    "file_drop": "app.outputs.file_drop",
    "facebook_custom_audiences": "app.outputs.facebook",
    "braze": "app.outputs.braze",
}
"""Partner kind (``models.PartnerKind``) -> the module whose ``CONNECTOR`` serves it."""


def connector(partner: str) -> Connector:
    """The connector of ``partner``; a plain error for a kind no connector serves."""
    module = MODULES.get(partner)
    if module is None:
        raise errors.InvalidSettingError(
            f"Journey Studio has no connector for “{partner}”."
        )
    found: Connector = importlib.import_module(module).CONNECTOR
    return found
