"""Stein & Scott's weighted dot product: the composite match factor without its ratio term.

``F_D = (sum w_q w_r)**2 / (sum w_q**2 * sum w_r**2)`` over nominal masses, with the composite's
peak weights ``mz**mz_power * intensity**intensity_power`` (Stein & Scott 1994, eq. 1: the
"dot product" NIST MS Search blends with the ratio term into the MF). It is the ``dot`` part of
:func:`~nps_id.search.scores.composite.composite_parts`, so the engine reads it from the parts it
computes for every EI candidate anyway.

Entry points
------------
- :class:`DotProduct` (``dot``).
"""
from __future__ import annotations

from dataclasses import dataclass

from nps_id.search.scores.composite import CompositeMatchFactor


@dataclass(frozen=True)
class DotProduct(CompositeMatchFactor):
    """Weighted dot product F_D of two EI spectra, 0-1 (the squared weighted cosine).

    Parameters as :class:`~nps_id.search.scores.composite.CompositeMatchFactor` (m/z power 1.0,
    intensity power 0.5).
    """

    name = "dot"
    serves = (("ei", "identity"), ("ei", "analog"))
    default_for = ()
    describes = "F_D, the weighted dot product (composite without the ratio term)"
    reference = "matchms `CosineGreedy` squared (m/z power 1, intensity power 0.5)"
    column = 2
    batch = None
