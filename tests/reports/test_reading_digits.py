"""The readings table shows a value to the decimal place of its U (GUM 7.2.6: U to two
significant digits, the value to the same place); hand-computed examples."""

from __future__ import annotations

import pandas as pd

from reports.render import _reading_cell


def _row(value: float, u: float | None, unit: str = "A") -> pd.Series:
    return pd.Series({"value": value, "expanded_u": u, "unit": unit})


def test_value_and_u_share_the_decimal_place_of_u() -> None:
    row = _row(3.997412e-3, 0.000594e-3)
    assert _reading_cell(row, "value", "value") == "3.99741 mA"
    assert _reading_cell(row, "expanded_u", "value_u") == "0.00059 mA"


def test_a_small_value_is_not_shown_beyond_its_uncertainty() -> None:
    row = _row(0.239691e-6, 0.1712e-6)
    assert _reading_cell(row, "value", "value") == "0.24 µA"
    assert _reading_cell(row, "expanded_u", "value_u") == "0.17 µA"


def test_a_reading_without_u_keeps_five_significant_digits() -> None:
    assert _reading_cell(_row(0.99592817, None, "1"), "value", "value") == "0.99593"
