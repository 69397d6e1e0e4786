"""The great-expectations suite every shard must pass before it can be certified, as data.

`suite_definition(bounds)` returns the suite as a plain dict (great-expectations' own suite shape:
a name and a list of `{"type", "kwargs"}`), so it pickles, diffs and digests like any other
contract; `build_suite` turns it into a `great_expectations.ExpectationSuite` and is the only
place here that imports great-expectations (lazily: the import costs 2-6 s).

The suite runs on a *validation frame*: the shard's columns (DOCUMENT_SCHEMA, in order) followed
by CHECK_COLUMNS, per-row values that transforms/validate.py derives from the shard because no
built-in expectation can compute them (a check digit, a Luhn sum, a hash of the text):

- `check__residual_<type>`: how many PII-shaped strings of that type the regex backstop found in
  the row's text after masking placeholders; every row must have 0.
- `check__duplicate_row`: 1 when the row repeats an earlier row's doc_id or stored text; the
  column's mean is the shard's duplicate rate and must stay under `max_duplicate_rate`.
- `check__char_count_matches`: whether `char_count` is the text's length in code points.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any

import pyarrow as pa

from schemas.records import DOCUMENT_SCHEMA, QUALITY_SIGNALS

SUITE_VERSION = "1"
SUITE_NAME = f"kura.shard.v{SUITE_VERSION}"

# Regex backstop categories, in report order.
RESIDUAL_PII_TYPES: tuple[str, ...] = ("my_number", "phone", "email", "card")
RESIDUAL_PII_COLUMNS: Mapping[str, str] = MappingProxyType(
    {kind: f"check__residual_{kind}" for kind in RESIDUAL_PII_TYPES}
)
DUPLICATE_ROW_COLUMN = "check__duplicate_row"
CHAR_COUNT_MATCHES_COLUMN = "check__char_count_matches"
CHECK_COLUMNS: tuple[str, ...] = (
    *RESIDUAL_PII_COLUMNS.values(),
    DUPLICATE_ROW_COLUMN,
    CHAR_COUNT_MATCHES_COLUMN,
)

# Signals that are fractions of something: [0, 1] whatever the manifest says.
FRACTION_SIGNALS: tuple[str, ...] = tuple(s for s in QUALITY_SIGNALS if s.endswith("_fraction"))

# Bounds that hold for every shard; the manifest's bounds can only narrow them.
_STRUCTURAL_BOUNDS: Mapping[str, tuple[float | None, float | None]] = MappingProxyType(
    {
        "locator": (0, None),
        "char_count": (1, None),
        "token_count": (0, None),
        "mean_sentence_chars": (0, None),
        **{name: (0.0, 1.0) for name in FRACTION_SIGNALS},
    }
)

DOC_ID_PATTERN = r"^[0-9a-f]{32}$"  # schemas.records.doc_id_for; safe to name in a report

Bound = tuple[float | None, float | None]


@dataclass(frozen=True)
class ShardBounds:
    """Per-shard limits: `columns` maps a numeric shard column to (min, max), None = open.

    The caller derives `columns` from the manifest's [quality] section; every row must lie within
    them. `max_duplicate_rate` bounds the fraction of rows that repeat an earlier row.
    """

    columns: Mapping[str, Bound] = field(default_factory=dict)
    max_duplicate_rate: float = 0.0

    def __post_init__(self) -> None:
        numeric = {f.name for f in DOCUMENT_SCHEMA if _is_numeric(f.type)}
        checked: dict[str, Bound] = {}
        for column, bound in sorted(self.columns.items()):
            if column not in numeric:
                raise ValueError(f"bounds: {column!r} is not a numeric shard column")
            low, high = bound
            for end in (low, high):
                if end is not None and not math.isfinite(end):
                    raise ValueError(f"bounds: {column}: limits must be finite numbers or None")
            if low is not None and high is not None and low > high:
                raise ValueError(f"bounds: {column}: min {low} is above max {high}")
            checked[column] = (low, high)
        if not 0.0 <= self.max_duplicate_rate <= 1.0:
            raise ValueError("bounds: max_duplicate_rate must be in [0, 1]")
        # A private sorted copy: the caller's dict may change later; a mappingproxy won't pickle.
        object.__setattr__(self, "columns", checked)

    def effective(self, column: str) -> Bound | None:
        """The tighter of the structural bound and the caller's bound for `column`, if any."""
        structural = _STRUCTURAL_BOUNDS.get(column)
        given = self.columns.get(column)
        if structural is None and given is None:
            return None
        s_low, s_high = structural or (None, None)
        g_low, g_high = given or (None, None)
        low = _tighter(s_low, g_low, max)
        high = _tighter(s_high, g_high, min)
        return (low, high)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (for the run summary and the attestation)."""
        return {
            "columns": {k: list(v) for k, v in self.columns.items()},
            "max_duplicate_rate": self.max_duplicate_rate,
        }


def _tighter(a: float | None, b: float | None, pick) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)


def _is_numeric(dtype: pa.DataType) -> bool:
    return pa.types.is_integer(dtype) or pa.types.is_floating(dtype)


def pandas_type_name(dtype: pa.DataType) -> str:
    """The type name great-expectations sees for an Arrow column after `Table.to_pandas()`.

    Strings come out as pandas' "str" dtype (pandas 3) or as object columns of `str` values;
    great-expectations accepts "str" for both. Lists (`pii`) are handed over as Python lists
    (transforms/validate.py `pandas_frame`); maps come out as lists of (key, value) tuples.
    """
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "str"
    if pa.types.is_map(dtype) or pa.types.is_list(dtype):
        return "list"
    if pa.types.is_boolean(dtype):
        return "bool"
    return str(dtype.to_pandas_dtype().__name__)


def _expectation(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs}


def _as_float32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _between(column: str, bound: Bound, dtype: pa.DataType | None = None) -> dict[str, Any]:
    low, high = bound
    if dtype is not None and pa.types.is_float32(dtype):
        # Signals are computed in float64 and stored as float32; rounding is monotonic, so a value
        # v >= min is stored as f32(v) >= f32(min). Comparing with the unrounded bound would fail
        # documents the quality filter kept (0.7 is stored as 0.69999998807907).
        low = None if low is None else _as_float32(low)
        high = None if high is None else _as_float32(high)
    kwargs: dict[str, Any] = {"column": column}
    if low is not None:
        kwargs["min_value"] = low
    if high is not None:
        kwargs["max_value"] = high
    return _expectation("expect_column_values_to_be_between", **kwargs)


def suite_definition(
    bounds: ShardBounds, schema: pa.Schema = DOCUMENT_SCHEMA
) -> dict[str, Any]:
    """The shard suite as plain data: `{"name": ..., "expectations": [{"type", "kwargs"}, ...]}`."""
    expectations: list[dict[str, Any]] = [
        _expectation(
            "expect_table_columns_to_match_ordered_list",
            column_list=[*schema.names, *CHECK_COLUMNS],
        )
    ]
    for f in schema:
        expectations.append(
            _expectation(
                "expect_column_values_to_be_of_type", column=f.name, type_=pandas_type_name(f.type)
            )
        )
    for f in schema:
        if not f.nullable:
            expectations.append(_expectation("expect_column_values_to_not_be_null", column=f.name))
    expectations += [
        _expectation("expect_column_values_to_be_unique", column="doc_id"),
        _expectation("expect_column_values_to_match_regex", column="doc_id", regex=DOC_ID_PATTERN),
        _expectation("expect_column_value_lengths_to_be_between", column="text", min_value=1),
        _expectation(
            "expect_column_values_to_be_in_set", column=CHAR_COUNT_MATCHES_COLUMN, value_set=[True]
        ),
    ]
    for f in schema:
        bound = bounds.effective(f.name)
        if bound is not None:
            expectations.append(_between(f.name, bound, f.type))
    for column in RESIDUAL_PII_COLUMNS.values():
        expectations.append(_between(column, (0, 0)))
    expectations.append(
        _expectation(
            "expect_column_mean_to_be_between",
            column=DUPLICATE_ROW_COLUMN,
            min_value=0.0,
            max_value=bounds.max_duplicate_rate,
        )
    )
    return {"name": SUITE_NAME, "expectations": expectations}


@functools.cache
def import_great_expectations() -> ModuleType:
    """Import great-expectations once per process, with its usage analytics off.

    GX reads GX_ANALYTICS_ENABLED at import time, so it is set first; a caller that already
    set it keeps its value.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations

    # GX sets some of its own loggers to INFO (one announces a temporary docs folder on every
    # run); a run's output is Kura's summary, not GX's chatter.
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return great_expectations


def build_suite(definition: Mapping[str, Any]) -> Any:
    """A `great_expectations.ExpectationSuite` from `suite_definition`'s plain data."""
    gx = import_great_expectations()
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    expectations = [
        ExpectationConfiguration(type=e["type"], kwargs=dict(e["kwargs"])).to_domain_obj()
        for e in definition["expectations"]
    ]
    return gx.ExpectationSuite(name=definition["name"], expectations=expectations)
