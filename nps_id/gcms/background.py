"""A component's ions that the run's own background explains: the column's, not the compound's.

A polysiloxane column bleeds steadily (m/z 207, 281, 355, ...), so its ions sit in every scan around
a component; deconvolution keeps one in a component when its noise happens to follow the model peak
(the ANDI run's 5.40 min C8 hydrocarbon: m/z 207 at 3.8 % of its base peak). A library spectrum holds
no bleed, so only the run can tell a bleed ion from a compound's own weak ion at the same mass (MDEA's
M+ 207): an ion the scans just before *and* just after the component hold as strongly is the column's.

Entry point
-----------
- :func:`background_ions` -- the weak ions of a :class:`~nps_id.gcms.deconvolution.Component` that
  the scans either side of its window explain, with their isotope peaks (docs/match.md, "Column bleed
  is not a molecular ion").
"""
from __future__ import annotations

from typing import Collection

import numpy as np

from nps_id.gcms.deconvolution import Component
from nps_id.gcms.run import Run

#: Isotope peaks (29Si/30Si, 13C) one and two mass units above a background ion are background too.
_ISOTOPE_STEPS = (1, 2)


def background_ions(run: Run, component: Component, *, ratio: float, level: float,
                    masses: Collection[int] | None = None) -> frozenset[int]:
    """Nominal masses of ``component``'s ions that the run's background near it explains.

    Parameters
    ----------
    run
        The run the component was extracted from (raw abundances, not baseline-corrected).
    component
        The component.
    ratio
        An ion is background when its abundance in the component is at most ``ratio`` times the
        run's background of that ion: the lower of the median raw abundances over the scans just
        before and just after the component's window (as many scans as the window each side; the
        lower so that a neighbouring peak on one side does not count as background). 0: off.
    level
        Only ions below this fraction of the component's base peak (a compound's strong ion is its
        own whatever the background).
    masses
        Only these nominal masses (with their isotope peaks); None: any.

    Returns
    -------
    frozenset of int
        The background ions, and the ions one and two mass units above each that are weaker than it
        (its isotope peaks: the background of a weak isotope peak often reads 0, below the
        instrument's threshold). Empty when the component has no scans on one side.
    """
    width = component.right - component.left + 1
    before = run.intensity[max(0, component.left - width) : component.left]
    after = run.intensity[component.right + 1 : component.right + 1 + width]
    if ratio <= 0 or level <= 0 or not before.size or not after.size or not component.mz.size:
        return frozenset()
    ceiling = level * float(component.intensity.max())
    abundance = {m: v for m, v in zip(component.mz.astype(int).tolist(), component.intensity.tolist()) if v < ceiling}
    n_mz = run.intensity.shape[1]  # a mass the run never recorded has no background to explain it
    weak = sorted(m for m in abundance if (masses is None or m in masses) and 0 <= m - run.mz_min < n_mz)
    if not weak:
        return frozenset()
    columns = np.array(weak) - run.mz_min
    background = np.minimum(np.median(before[:, columns], axis=0), np.median(after[:, columns], axis=0))
    found = {m for m, bg in zip(weak, background.tolist()) if bg > 0 and abundance[m] <= ratio * bg}
    isotopes = {m + k for m in found for k in _ISOTOPE_STEPS if abundance.get(m + k, abundance[m]) < abundance[m]}
    return frozenset(found | isotopes)
