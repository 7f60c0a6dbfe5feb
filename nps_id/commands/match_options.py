"""The match settings options, defined once and stacked on ``nps-id match`` and ``nps-id batch``.

Entry points
------------
- :func:`match_settings_options` -- a decorator that adds the options (peak limits, RT window,
  shape correlation, verdict thresholds, LC-MS/MS tolerances, top-k, analogue mode, internal
  standards and the standards' RT window) to a click
  command and hands the command one ``match_parameters`` argument instead of sixteen.
- :func:`match_parameters_from_options` -- option values -> :class:`~nps_id.match.parameters.MatchParameters`.

Option names and defaults are a contract (scripts and SOPs quote them); ``docs/match.md`` explains
each default. The verdict thresholds' defaults are read from
:class:`~nps_id.match.verdict.VerdictThresholds` (a dataclass module, cheap to import); the rest of
``nps_id.match`` is imported only when a command runs, so ``--help`` stays instant.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from typing import TYPE_CHECKING, Callable

import click

from nps_id.commands.options import TOLERANCE, EvidenceHitsHelp, Number, ScoreChoice
from nps_id.match.verdict import VerdictThresholds
from nps_id.tolerance import Tolerance

if TYPE_CHECKING:
    from nps_id.match.parameters import MatchParameters
    from nps_id.match.standards import InternalStandard


class InternalStandardType(click.ParamType):
    """Click type for ``NAME`` or ``NAME@RT_MIN`` (expected retention time, minutes)."""

    name = "NAME[@RT_MIN]"

    def convert(self, value, param, ctx) -> InternalStandard:
        from nps_id.match.standards import InternalStandard

        if not isinstance(value, str):
            return value
        try:
            return InternalStandard.parse(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)

def _rt_window(ctx: click.Context, param: click.Parameter,
               value: tuple[float | None, float | None]) -> tuple[float | None, float | None]:
    """``--rt-window FROM TO`` that can hold a time: FROM after TO kept no component and read as
    "no findings" (a NaN bound is refused by :class:`Number`). An infinite bound is an open end
    (:class:`~nps_id.gcms.peaks.PeakParameters`), so ``inf`` as FROM or ``-inf`` as TO holds no time."""
    start, end = value
    if start is not None and start > end:
        raise click.BadParameter(f"FROM {start:g} is after TO {end:g}: the window holds no time", ctx, param)
    if start == math.inf or end == -math.inf:
        raise click.BadParameter(f"{start:g} to {end:g} holds no time", ctx, param)
    return value


#: The verdict thresholds are the options' defaults: set once, in :class:`VerdictThresholds`.
_VERDICT = VerdictThresholds()

# In the order --help lists them.
_OPTIONS = [
    click.option("--min-snr", type=Number(), default=10.0, help="Minimum component S/N (height over TIC noise)."),
    click.option("--min-height", type=Number(), default=0.0, help="Minimum component height, counts."),
    click.option("--min-area", type=Number(), default=0.0, help="Minimum component area, counts x s."),
    click.option("--rt-window", type=(Number(), Number()), default=(None, None), metavar="FROM TO", callback=_rt_window,
                 show_default="whole run", help="Only components eluting in this window, minutes (GC: the apex; LC-MS/MS: the scan group's "
                      "median time, groups without a time left out and counted in notes)."),
    click.option("--min-correlation", type=Number(), default=0.8,
                 help="Minimum shape correlation of an ion chromatogram with the component's model peak."),
    click.option("--identified-mf", type=int, default=_VERDICT.identified_mf,
                 help="EI match factor needed for 'identified' (0-999)."),
    click.option("--identified-rmf", type=int, default=_VERDICT.identified_rmf,
                 help="EI reverse match factor needed for 'identified'."),
    click.option("--identified-score", type=int, default=_VERDICT.identified_score,
                 help="LC-MS/MS score (cosine x 999) needed for 'identified', which also needs >= "
                      f"{_VERDICT.min_product_ions} of the reference's product ions matched, whatever the "
                      "score (docs/match.md)."),
    click.option("--min-gap", type=int, default=_VERDICT.min_gap,
                 help="EI: score gap to the next different compound for 'identified'."),
    click.option("--min-gap-ms2", type=int, default=_VERDICT.min_gap_ms2,
                 help="LC-MS/MS: the same gap (wider: one compound's MS/MS from two laboratories differs by "
                      "more than 30; docs/match.md)."),
    click.option("--tentative-mf", type=int, default=_VERDICT.tentative_mf,
                 help="EI match factor floor for 'tentative'."),
    click.option("--ri-window", type=Number(), default=_VERDICT.ri_window,
                 help="Largest |RI - library RI| for 'identified'."),
    click.option("--precursor-tolerance", type=TOLERANCE, default="20 ppm",
                 help="LC-MS/MS precursor window (half-width)."),
    click.option("--fragment-tolerance", type=TOLERANCE, default="0.01 Da",
                 help="LC-MS/MS fragment tolerance. Unset, a scan whose product ions are all written to at most 1 "
                      "decimal (unit resolution) is scored at 0.5 Da and meets no HRMS criterion (the run's notes "
                      "say so); given, it applies to every scan (a unit-resolution one still meets no HRMS "
                      "criterion)."),
    click.option("--ms2-score", type=ScoreChoice(("ms2", "identity"), ("ms2", "analog")), default=None,
                 show_default="cosine; analogues modified_cosine",
                 help="LC-MS/MS exact score (docs/scores.md); --identified-score applies to it."),
    click.option("--ms2-rt-tolerance", type=Number(), default=30.0,
                 help="LC-MS/MS: scans of one precursor further apart (s) are separate groups."),
    click.option("--top-k", cls=EvidenceHitsHelp, type=click.IntRange(1, 50), default=5,
                 help="Library hits kept per finding (top_hits); the verdict, estimated mass and group always "
                      "read the first {evidence_hits}."),
    click.option("--no-analogue", is_flag=True, help="Do not search poor identity matches in analogue mode."),
    click.option("--internal-standard", "internal_standard", multiple=True, default=(), type=InternalStandardType(),
                 help="Substance added to every vial (library name or InChIKey), optionally with its expected "
                      "RT in minutes (bupivacaine@6.51): labelled internal standard, checked per run, never "
                      "subtracted as blank. Repeatable."),
    click.option("--standard-rt-window", type=Number(min=0), default=0.1, metavar="MIN",
                 help="Largest RT difference (min) from an internal standard's expected RT or a reference "
                      "standard run's RT that counts as within."),
]


def match_parameters_from_options(
    *,
    min_snr: float,
    min_height: float,
    min_area: float,
    rt_window: tuple[float | None, float | None],
    min_correlation: float,
    identified_mf: int,
    identified_rmf: int,
    identified_score: int,
    min_gap: int,
    min_gap_ms2: int,
    tentative_mf: int,
    ri_window: float,
    precursor_tolerance: Tolerance,
    fragment_tolerance: Tolerance,
    ms2_score: str | None,
    ms2_rt_tolerance: float,
    top_k: int,
    no_analogue: bool,
    internal_standard: tuple[InternalStandard, ...],
    standard_rt_window: float,
) -> MatchParameters:
    """The :class:`~nps_id.match.parameters.MatchParameters` the match settings options describe.

    Every argument is required (keyword-only, named as the option's click parameter) so that a
    misspelt or forgotten setting is a ``TypeError``, not a silent default. Units: heights in
    detector counts, areas in counts x s, ``rt_window`` in minutes (``(None, None)``: whole run),
    ``ri_window`` in retention-index units, ``ms2_rt_tolerance`` and ``standard_rt_window`` in
    seconds and minutes, scores on 0-999.
    """
    from dataclasses import replace

    from nps_id.gcms.deconvolution import DeconvolutionParameters
    from nps_id.gcms.peaks import PeakParameters
    from nps_id.match.parameters import MatchParameters

    return MatchParameters(
        peaks=PeakParameters(min_snr=min_snr, min_height=min_height, min_area=min_area,
                             rt_min_minutes=rt_window[0], rt_max_minutes=rt_window[1]),
        deconvolution=replace(DeconvolutionParameters(), min_shape_correlation=min_correlation),
        verdict=replace(VerdictThresholds(), identified_mf=identified_mf, identified_rmf=identified_rmf,
                        identified_score=identified_score, min_gap=min_gap, min_gap_ms2=min_gap_ms2,
                        tentative_mf=tentative_mf,
                        ri_window=ri_window),
        top_k=top_k,
        analogue=not no_analogue,
        precursor_tolerance=precursor_tolerance,
        fragment_tolerance=fragment_tolerance,
        ms2_score=ms2_score,
        ms2_rt_tolerance_seconds=ms2_rt_tolerance,
        internal_standards=tuple(internal_standard),
        standard_rt_window_min=standard_rt_window,
    )


#: The click parameter names of the match settings options.
MATCH_OPTION_NAMES = tuple(inspect.signature(match_parameters_from_options).parameters)


def fragment_tolerance_given(ctx: click.Context | None) -> bool:
    """Whether the command line (or an environment variable) set ``--fragment-tolerance``: then it applies to
    every LC-MS/MS scan, a unit-resolution one's too (its default, 0.01 Da, leaves those to
    ``MatchParameters.unit_fragment_tolerance``; docs/match.md)."""
    if ctx is None:
        return False
    source = ctx.get_parameter_source("fragment_tolerance")
    return source is not None and source not in (click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP)


def match_settings_options(command: Callable) -> Callable:
    """Add the match settings options to a click command function.

    The function receives ``match_parameters`` (a :class:`~nps_id.match.parameters.MatchParameters`)
    in place of the individual option values. Put this decorator where the options should appear
    in ``--help``, between the other ``@click.option`` lines.
    """

    @functools.wraps(command)
    def with_match_parameters(*args, **kwargs):
        settings = {name: kwargs.pop(name) for name in MATCH_OPTION_NAMES}
        params = match_parameters_from_options(**settings)
        if fragment_tolerance_given(click.get_current_context(silent=True)):
            params = dataclasses.replace(params, unit_fragment_tolerance=None)  # the one tolerance for every scan
        return command(*args, match_parameters=params, **kwargs)

    # click lists a command's options in the reverse order of decoration.
    for option in reversed(_OPTIONS):
        with_match_parameters = option(with_match_parameters)
    return with_match_parameters
