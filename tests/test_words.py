"""The one plural rule (``nps_id/_words.py``), at the bottom of the layers: its examples run."""
from __future__ import annotations

import doctest

from nps_id import _words


def test_counted_examples():
    # moved from report/present.py at stop 34, where test_display_number ran its examples
    assert doctest.testmod(_words).failed == 0
