"""How a report prints a number (nps_id.report.present.display_number): a value that rounds to zero
has no sign -- an LC-MS/MS hit of the unknown's own formula showed "Δmass -0.0000" in the HTML
report's library hits, as if the hit were heavier than the unknown."""
from __future__ import annotations

import doctest

import pytest

from nps_id.report import present
from nps_id.report.present import DASH, display_number


@pytest.mark.parametrize("value, digits, shown", [
    (-0.00001, 4, "0.0000"), (-0.4, 0, "0"), (0.0, 4, "0.0000"),
    (-0.0002, 4, "-0.0002"), (-1.25, 1, "-1.2"), (-3.0, 0, "-3"), (947.0, 0, "947"), (None, 0, DASH),
])
def test_a_number_rounding_to_zero_is_shown_unsigned(value, digits, shown):
    assert display_number(value, digits) == shown


def test_the_module_s_examples_hold():
    assert doctest.testmod(present).failed == 0
