"""The results file of ``nps-id match``: its typed parts, and the one serialiser for every writer.

A finding, its hits and the run's components are dataclasses here; each has one serialiser
(``to_dict``: the fields in declaration order, which is the order of the JSON keys) and its inverse
(``from_dict``). The keys and types are those of ``docs/match.md`` and of the JSON Schema
``nps_id/report/schema/match-results-v1.json``, which a report validates a results file against
(a test keeps every serialised key declared there).

How a field is written is declared on it (``metadata``):
- a plain field is one key;
- :func:`part` -- a typed part whose keys sit in the parent object (the library record, the
  verdict, the GC peak or LC precursor fields); left out when the part is None;
- :func:`optional` -- a key written only when it has a value;
- :func:`internal` -- kept on the object, never written (a hit's gap and isomer alert: the
  finding carries its top hit's).

Adding a field is one line: the attribute, where its key goes (and its row in the schema).
The assessment's fields (:func:`nps_id.match.assess.novelty_fields`: ``new_substance``,
``suspected_group``, ...) are :attr:`Finding.assessment`, written as they come; a field
:mod:`nps_id.match.assess` adds there needs no change here. ``from_dict`` keeps any key a type
does not declare in ``assessment`` (a newer file round-trips).

Entry points
------------
- :class:`MatchMode` -- how a finding's hit was searched (``identity`` / ``analogue``).
- :class:`LibraryRecord`, :class:`Hit`, :class:`RunnerUp` -- a library hit as a finding quotes it.
- :class:`Finding` (with its parts :class:`GCPeak`, :class:`MS2Precursor`, :class:`Elutions`).
- :class:`GCComponent`, :class:`MS2Component`, :func:`component_from_dict` -- the ``components`` list.
- :func:`json_keys` -- the keys a type writes.
- :func:`results_json` -- a results dict (or ``{"runs": [...]}``) as the JSON text every output uses.
- :func:`write_results_json` -- that text written atomically (what ``nps-id match -o/--json`` and
  every ``nps-id batch`` worker write).
"""
from __future__ import annotations

import functools
import json
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Mapping

from nps_id._atomic import atomic_output
from nps_id._finite import not_finite
from nps_id.errors import InputError
from nps_id.match.verdict import StrEnum, Verdict

_HOW = "json"
_PART, _OPTIONAL, _INTERNAL = "part", "optional", "internal"


def part(**kwargs: Any) -> Any:
    """A field whose keys are written into the parent object (None: none of them)."""
    return field(metadata={_HOW: _PART}, **kwargs)


def optional(**kwargs: Any) -> Any:
    """A field written only when it is not None."""
    return field(default=None, metadata={_HOW: _OPTIONAL}, **kwargs)


def internal(**kwargs: Any) -> Any:
    """A field kept on the object but never written."""
    return field(metadata={_HOW: _INTERNAL}, **kwargs)


#: The note of the ``--blank`` run matched among the runs (docs/match.md, "Blank subtraction");
#: the report reads it (``checks.blank_itself``).
BLANK_ITSELF_NOTE = "this run is the --blank: matched without blank subtraction (what the blank itself holds)"


def is_blank_run(results: Mapping[str, Any]) -> bool:
    """Whether a run's results (as written) are the ``--blank`` run's own (:data:`BLANK_ITSELF_NOTE`)."""
    return BLANK_ITSELF_NOTE in (results.get("notes") or [])


class _Serialised:
    """``to_dict`` / ``from_dict`` from the field declarations (module docstring)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value, how = getattr(self, f.name), f.metadata.get(_HOW)
            if how == _INTERNAL or (how in (_PART, _OPTIONAL) and value is None):
                continue
            if how == _PART:
                out.update(value if isinstance(value, dict) else _Serialised.to_dict(value))
            else:
                out[f.name] = _json_value(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        return _read(cls, data)


def _json_value(value: Any) -> Any:
    """A field's JSON value: a dataclass (or a list of them) written as objects, the rest as is."""
    if is_dataclass(value):
        return _Serialised.to_dict(value)  # any dataclass: Verdict is one too
    if isinstance(value, list) and value and is_dataclass(value[0]):
        return [_Serialised.to_dict(v) for v in value]
    return value


#: A type's resolved annotations (``from __future__ import annotations`` leaves them as strings).
_hints = functools.cache(typing.get_type_hints)


def _read(cls: type, data: Mapping[str, Any]) -> Any:
    """``cls`` from its JSON object: every declared key decoded by the field's type; the keys
    nobody declares go to the one dict part (if the type has one)."""
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    rest = None
    for f in fields(cls):
        how, hint = f.metadata.get(_HOW), _bare(hints[f.name])
        if how == _INTERNAL:
            continue
        if how == _PART:
            if hint is dict:
                rest = f.name
            elif any(k in data for k in json_keys(hint)):
                kwargs[f.name] = _read(hint, data)
            else:
                kwargs[f.name] = None
        elif f.name in data:
            kwargs[f.name] = _decode(hints[f.name], data[f.name])
    if rest is not None:
        known = json_keys(cls)
        kwargs[rest] = {k: v for k, v in data.items() if k not in known}
    return cls(**kwargs)


@functools.cache
def json_keys(cls: type) -> frozenset[str]:
    """The keys a type writes itself (its parts' included, its dict part's not): what the
    results schema must declare."""
    hints = _hints(cls)
    out: set[str] = set()
    for f in fields(cls):
        how, hint = f.metadata.get(_HOW), _bare(hints[f.name])
        if how == _PART:
            out |= set() if hint is dict else json_keys(hint)
        elif how != _INTERNAL:
            out.add(f.name)
    return frozenset(out)


@functools.cache  # hints are few and hashable; a file has many values of each
def _bare(hint: Any) -> Any:
    """``X`` of ``X | None``; a generic alias's origin (``dict`` of ``dict[str, Any]``)."""
    hint = _not_none(hint)
    return typing.get_origin(hint) or hint


@functools.cache
def _typed(hint: Any) -> bool:
    """Whether values of ``hint`` are decoded into a type (a dataclass or an enum)."""
    bare = _bare(hint)
    return is_dataclass(bare) or (isinstance(bare, type) and issubclass(bare, Enum))


@functools.cache
def _not_none(hint: Any) -> Any:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    bare = _bare(hint)
    if bare is list:
        (item,) = typing.get_args(_not_none(hint))
        return [_decode(item, v) for v in value] if _typed(item) else value
    if is_dataclass(bare):
        return _read(bare, value)
    if isinstance(bare, type) and issubclass(bare, Enum):
        return bare(value)
    return value


# -- hits ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryRecord(_Serialised):
    """Name, identifiers, formula and structure of one library row (its SMILES, where it came
    from, whether its InChIKey was verified against the record's); empty library values are None."""

    name: str
    library_id: str | None
    library_row: int
    inchikey: str | None
    formula: str | None
    cas: str | None
    smiles: str | None
    structure_source: str | None
    structure_status: str | None


@dataclass(frozen=True, kw_only=True)
class Hit(_Serialised):
    """One ranked library hit of a component, scores on the 0-999 scale (``top_hits[]``).

    ``score`` ranks (the analogue score in analogue mode, mass prior included); ``similarity`` is
    the spectral similarity alone; ``mf``/``rmf`` are None for MS/MS; ``delta_mass`` and the named
    modification ``delta_mass_match`` are the analogue search's. ``gap`` (to the best different
    compound) and ``isomer_alert`` are not written per hit: a finding carries its top hit's.
    """

    rank: int
    record: LibraryRecord = part()
    mf: int | None
    rmf: int | None
    score: int | None
    delta_mass: float | None
    similarity: int | None
    delta_mass_match: str | None
    gap: int | None = internal(default=None)
    isomer_alert: bool = internal(default=False)
    #: analogue mode: the query's analogue confidence (written on the finding, not per hit)
    analogue_confidence: float | None = internal(default=None)
    #: analogue mode: the unknown's mass ``delta_mass`` is taken from (the close-analogue mass bound)
    query_mass: float | None = internal(default=None)

    @property
    def row(self) -> int:
        return self.record.library_row


@dataclass(frozen=True, kw_only=True)
class RunnerUp(_Serialised):
    """The best hit of a compound other than the top hit's (``runner_up``)."""

    record: LibraryRecord = part()
    score: int | None
    mf: int | None
    rmf: int | None

    @classmethod
    def of(cls, hit: Hit) -> "RunnerUp":
        return cls(record=hit.record, score=hit.score, mf=hit.mf, rmf=hit.rmf)


# -- findings ------------------------------------------------------------------------------------


class MatchMode(StrEnum):
    """How a finding's hit was searched: the compound itself, or a close analogue of it (an
    analogue hit never passes as the identity of the compound). Each member is its string."""

    IDENTITY = "identity"
    ANALOGUE = "analogue"


@dataclass(kw_only=True)
class GCPeak(_Serialised):
    """A GC finding's component: apex scan, response, and what its deconvolution is checked
    against (model ion, scan window, TIC purity at the apex, the raw apex scan)."""

    scan: int
    height: float
    area: float
    snr: float
    n_ions: int
    model_mz: int | None
    scan_range: list[int]
    purity: float | None
    apex_spectrum: dict[str, list[float]]
    background_ions: list[int] | None = optional()


@dataclass(kw_only=True)
class MS2Precursor(_Serialised):
    """An LC-MS/MS finding's precursor: m/z, the MS2 scans merged into it, the candidate's ion
    type, the MS1 evidence (:meth:`nps_id.match.lcms_evidence.GroupEvidence.fields`), the other
    ions of the compound at its RT and the precursors that were its 13C isotope peak
    (:meth:`nps_id.lcms.isotopes.IsotopePrecursor.to_dict`)."""

    precursor_mz: float
    n_scans: int
    adduct: str | None
    ms1: dict[str, Any]
    related_ions: list[dict[str, Any]] = field(default_factory=list)
    isotope_precursors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(kw_only=True)
class Elutions(_Serialised):
    """LC-MS/MS: the components merged into the finding and the compound's other elutions."""

    merged_components: list[int]
    other_elutions: list[dict[str, Any]]
    elution_note: str | None = optional()


@dataclass(kw_only=True)
class Finding(_Serialised):
    """One finding: the library compound, the verdict and the evidence behind it (``findings[]``).

    ``verdict`` is the :class:`~nps_id.match.verdict.Verdict` (its seven keys: ``verdict``,
    ``rule``, ``rule_id``, ``criteria_met``, ``criteria_failed``, ``criteria_not_evaluated``, ``held_by``); the score fields
    are the top hit's; ``peak`` (GC) or ``precursor`` and ``elutions`` (LC-MS/MS) hold what only
    one technique has. ``assessment`` holds the new-substance fields of
    :func:`nps_id.match.assess.novelty_fields`. ``role`` and ``reference_standard`` are set by
    :mod:`nps_id.match.standards`.
    """

    record: LibraryRecord = part()
    assessment: dict[str, Any] = part(default_factory=dict)
    verdict: Verdict = part()
    match_mode: MatchMode
    rt_min: float | None  #: None: an LC run whose scans carry no retention time
    ri: float | None = None
    library_ri: float | None = None
    delta_ri: float | None = None
    mf: int | None
    rmf: int | None
    score: int | None
    gap: int | None
    isomer_alert: bool
    stereo_note: str | None
    #: the library's names of this compound when it holds it under several (a racemate and its
    #: enantiomer, Atropine and Hyoscyamine; docs/compound-identity.md); None: one name
    compound_names: list[str] | None = optional()
    delta_mass: float | None
    similarity: int | None
    delta_mass_match: str | None
    analogue_confidence: float | None = None
    runner_up: RunnerUp | None
    top_hits: list[Hit]
    peak: GCPeak | None = part(default=None)
    precursor: MS2Precursor | None = part(default=None)
    spectrum: dict[str, list[float]]
    component: int | None = None
    elutions: Elutions | None = part(default=None)
    role: str | None = optional()
    reference_standard: dict[str, Any] | None = None

    @property
    def library_row(self) -> int:
        return self.record.library_row


# -- components ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class GCComponent(_Serialised):
    """One deconvoluted GC component, finding or not (``components[]``): where and how strong it
    is, its RI, the finding it gave, its five most abundant ions and best identity hit; a
    shoulder or tail of a larger component names it (``duplicate_of``) and why."""

    index: int
    rt_min: float
    scan: int
    scan_range: list[int]
    height: float
    area: float
    snr: float
    model_mz: int | None
    n_ions: int
    ri: float | None
    finding: int | None = None
    top_ions: list[int]
    best_hit: dict[str, Any] | None
    duplicate_of: int | None = optional()
    duplicate_reason: str | None = optional()


@dataclass(kw_only=True)
class MS2Component(_Serialised):
    """One LC-MS/MS precursor group (``components[]``): its consensus spectrum's size, the finding
    it gave, its MS1 feature, or the finding it is another ion of (``ion_of``)."""

    index: int
    rt_min: float | None  #: None when the scans carry no retention time
    precursor_mz: float
    n_scans: int
    n_ions: int
    finding: int | None = None
    ms1_feature: dict[str, Any] | None
    ion_of: dict[str, Any] | None = optional()


Component = GCComponent | MS2Component


def component_from_dict(data: Mapping[str, Any]) -> Component:
    """The component type of a ``components[]`` entry (LC-MS/MS entries have a precursor m/z)."""
    return (MS2Component if "precursor_mz" in data else GCComponent).from_dict(data)


# -- the file ------------------------------------------------------------------------------------


def _to_json(value: Any) -> Any:
    """json.dumps fallback for numpy scalars/arrays and paths in results."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def results_json(results: Mapping[str, Any]) -> str:
    """The results as JSON text: indented by one space, no trailing newline.

    A NaN or an infinity anywhere is :class:`~nps_id.errors.InputError` naming its JSON path, and nothing is
    written: JSON has no such number, and ``NaN`` in the file (Python's default) made a file ``report`` and
    other tools refuse (stop 45; no input is known to give one -- the readers refuse non-finite numbers)."""
    try:
        return json.dumps(results, indent=1, default=_to_json, allow_nan=False)
    except ValueError:  # "Out of range float values": find where, in the tree as JSON holds it (arrays as lists)
        fault = not_finite(json.loads(json.dumps(results, default=_to_json)))
        if fault is None:
            raise
        raise InputError(f"the results hold a number JSON cannot: {fault}; not written") from None


def write_results_json(results: Mapping[str, Any], path: Path) -> Path:
    """Write ``results`` to ``path`` atomically (temp file + rename)."""
    with atomic_output(path) as tmp:
        tmp.write_text(results_json(results) + "\n", encoding="utf-8")
    return path
