"""User attributes take a quick way when their values plainly pass the checks: same rows.

``values.user_attributes`` reads every changed profile of an import, so it skips
the full checks (which name the place of a problem) for values it can vouch for
at a glance. Whatever the values, it must give exactly the rows, or the error,
that checking each attribute in full gives.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ingest import values as v
from app.ingest.values import RecordError

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.text(alphabet="0123456789-T:Z+ .", min_size=8, max_size=26),  # date-like
    st.sampled_from(["2026-10-10", "2024-03-01T12:00:00Z", "2024-02-30", "2024-13-01",
                     "abcd-ef-gh", "a\x00b", "x" * 1025, "", "   "]),
)
_values = st.one_of(_scalars, st.lists(_scalars, max_size=4),
                    st.dictionaries(st.text(max_size=3), _scalars, max_size=2))
_names = st.one_of(st.text(max_size=8), st.sampled_from(["", " ", "a\x00", "n" * 256]),
                   st.integers())


def _checked_in_full(mapping: dict[Any, Any]) -> dict[str, Any]:
    """Each attribute through ``text`` and ``user_attribute``: the full checks."""
    result = {}
    for name, value in mapping.items():
        v.text(name, "user_attributes name", v.MAX_NAME, required=True)
        result[name] = v.user_attribute(value, f"user_attributes.{name}")
    return result


def _outcome(function: Any, mapping: dict[Any, Any]) -> Any:
    try:
        return function(mapping)
    except RecordError as error:
        return ("error", str(error))


@given(st.dictionaries(_names, _values, max_size=6))
def test_the_quick_way_gives_the_rows_or_the_error_of_the_full_checks(
        mapping: dict[Any, Any]) -> None:
    quick = _outcome(lambda m: v.user_attributes(m, "user_attributes"), mapping)
    assert quick == _outcome(_checked_in_full, mapping)


@pytest.mark.parametrize(("value", "reason"), [
    (float("inf"), "user_attributes.score is not a finite number"),
    ("a\x00b", "user_attributes.score contains a NUL character"),
    (["ok", None], "user_attributes.score[1] must be a string, number or boolean, not null"),
    ({"nested": 1}, "user_attributes.score must be a string, number, boolean or list, "
                    "not an object"),
])
def test_a_bad_value_is_still_named_with_its_place(value: Any, reason: str) -> None:
    with pytest.raises(RecordError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        v.user_attributes({"score": value}, "user_attributes")


def test_usual_values_become_typed_rows() -> None:
    rows = v.user_attributes({"plan": "gold", "age": 34, "vip": True, "since": "2026-10-10",
                              "genres": ["Drama", "Sci-fi"], "gone": None}, "user_attributes")
    assert {name: row and (row["value_type"], row[{
        "string": "text_value", "number": "number_value", "boolean": "bool_value",
        "date": "date_ms", "list": "list_value"}[row["value_type"]]])
        for name, row in rows.items()} == {
        "plan": ("string", "gold"), "age": ("number", 34.0), "vip": ("boolean", True),
        "since": ("date", 1791590400000), "genres": ("list", '["Drama","Sci-fi"]'),
        "gone": None}
