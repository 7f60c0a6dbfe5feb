"""The settings of a match (:class:`MatchParameters`): every option of ``nps-id match``, echoed in
each result, read by the run pipeline (:mod:`nps_id.match.pipeline`) and the GC and LC-MS/MS paths."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nps_id.gcms.deconvolution import DeconvolutionParameters
from nps_id.gcms.peaks import PeakParameters
from nps_id.match.standards import InternalStandard
from nps_id.match.verdict import VerdictThresholds
from nps_id.tolerance import Tolerance


@dataclass(frozen=True)
class MatchParameters:
    """All settings of a match (see ``docs/match.md`` for the defaults and why).

    Attributes
    ----------
    peaks, deconvolution, verdict
        Peak detection limits (their RT window also selects LC-MS/MS scan groups), component
        extraction limits, verdict thresholds.
    top_k : int
        Library hits kept per component.
    analogue : bool
        Search components without an acceptable identity hit in analogue mode.
    precursor_tolerance, fragment_tolerance : Tolerance
        LC-MS/MS precursor window (half-width) and fragment tolerance.
    unit_fragment_tolerance : Tolerance or None
        LC-MS/MS: the fragment tolerance of a scan group whose product ions are all written to at most
        one decimal (a unit-resolution instrument's, :func:`nps_id.lcms.groups.unit_resolution`): the
        nominal ion, 0.5 Da -- such a value says no more: of the MassBank MS/MS identity queries' major
        product ions written to one decimal (LC-ESI-QQ / -IT), 98 % lie within 0.5 Da of the nearest ion of
        their compound's accurate records, 76 % within 0.2 Da (stop 48). Their HRMS criteria are not met.
        None: ``fragment_tolerance`` for every group (an explicit ``--fragment-tolerance``).
    ms2_score : str or None
        LC-MS/MS exact score (a registry name serving MS/MS identity and analogue search,
        ``docs/scores.md``); None: the search's default (cosine; analogues modified cosine).
    ms2_rt_tolerance_seconds : float
        MS2 scans of one precursor further apart than this are separate groups.
    blank_rt_tolerance_seconds, blank_min_similarity, blank_min_ratio : float
        Blank subtraction (see :func:`nps_id.gcms.deconvolution.subtract_blank`).
    internal_standards : tuple of InternalStandard
        Substances added to every vial: their findings are labelled ``role: "internal_standard"``,
        checked per run (``internal_standards`` in the results) and never subtracted as blank.
    standard_rt_window_min : float
        Largest |RT difference| (minutes) from an internal standard's expected RT or from a
        reference standard run's RT that counts as "within".
    """

    peaks: PeakParameters = field(default_factory=PeakParameters)
    deconvolution: DeconvolutionParameters = field(default_factory=DeconvolutionParameters)
    verdict: VerdictThresholds = field(default_factory=VerdictThresholds)
    top_k: int = 5
    analogue: bool = True
    precursor_tolerance: Tolerance = field(default_factory=lambda: Tolerance(20.0, "ppm"))
    fragment_tolerance: Tolerance = field(default_factory=lambda: Tolerance(0.01, "Da"))
    unit_fragment_tolerance: Tolerance | None = field(default_factory=lambda: Tolerance(0.5, "Da"))
    ms2_score: str | None = None
    ms2_rt_tolerance_seconds: float = 30.0
    blank_rt_tolerance_seconds: float = 6.0
    blank_min_similarity: float = 0.9
    blank_min_ratio: float = 3.0
    internal_standards: tuple[InternalStandard, ...] = ()
    standard_rt_window_min: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["precursor_tolerance"] = str(self.precursor_tolerance)
        out["fragment_tolerance"] = str(self.fragment_tolerance)
        out["unit_fragment_tolerance"] = None if self.unit_fragment_tolerance is None else str(self.unit_fragment_tolerance)
        return out

