"""The panel shows the core's ASCII unit words with their symbols, as the reports do."""

from __future__ import annotations

import pytest

from bench.panel.view import environment, unit_symbols


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("up  2.0 mA: error +1.97 uA", "up  2.0 mA: error +1.97 µA"),
        ("24.0 V  250.0 ohm  4.0 mA", "24.0 V  250.0 Ω  4.0 mA"),
        ("open input -0.02uA", "open input -0.02 µA"),
        ("rho = 0.999983", "rho = 0.999983"),  # no unit word: unchanged
        ("ohm meter", "ohm meter"),  # a word that is not after a number: unchanged
    ],
)
def test_unit_words_after_numbers_become_symbols(text: str, shown: str) -> None:
    assert unit_symbols(text) == shown


def test_the_step_list_shows_titles_and_running_lines_with_symbols() -> None:
    source = environment().loader.get_source(environment(), "_screen.html.j2")[0]  # type: ignore[union-attr]
    assert "{{ step.text | unit_symbols }}" in source
    assert "{{ step_title(step) | unit_symbols }}" in source
    assert "{{ step.title }}" not in source
