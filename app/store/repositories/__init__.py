"""Repositories: the only code that maps table rows to core models and back.

Each repository works inside a session the caller got from
:meth:`app.store.database.Database.transaction`; it flushes but never commits,
so one transaction can hold several repository calls, and any error rolls all
of them back.
"""

from app.store.repositories.accounts import AccountData, AccountRepository
from app.store.repositories.journeys import JourneyRepository, StoredJourney

__all__ = ["AccountData", "AccountRepository", "JourneyRepository", "StoredJourney"]
