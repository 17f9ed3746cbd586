"""Helpers the repositories share: validating stored values and writing rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.errors import DataError
from app.store.database import UnreadableJSON

ModelT = TypeVar("ModelT", bound=BaseModel)


def validated(model: type[ModelT], where: str, **values: Any) -> ModelT:
    """Validate stored values into a core model; a DataError names the record."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise DataError(f"The stored {where} can't be read: {validation_summary(exc)}") from exc


def json_value(value: Any, where: str) -> Any:
    if isinstance(value, UnreadableJSON):
        raise DataError(f"The stored {where} can't be read: it is not valid JSON ({value.error}).")
    return value


def validation_summary(exc: ValidationError) -> str:
    first = exc.errors()[0]
    place = ".".join(str(part) for part in first.get("loc", ()))
    more = exc.error_count() - 1
    extra = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
    return f"{place + ': ' if place else ''}{first.get('msg', 'invalid')}{extra}."


def assign(row: Any, values: Mapping[str, Any]) -> None:
    """Set only the attributes that differ, so unchanged rows get no UPDATE."""
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)


def flush(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise DataError(
            f"The {what} can't be saved: it clashes with stored data ({first_line(exc)})."
        ) from exc


def first_line(exc: Exception) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
