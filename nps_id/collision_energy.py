"""Collision energies as libraries and files write them, read into a number and a unit.

MassBank MS/MS alone spells one energy some 590 ways ("30", "30 eV", "30.0eV", "30 V", "30 % (nominal)",
"30(NCE)", "Ramp 5-45 V", "CE30", ...). Two MS/MS spectra of one compound are alike mostly at the same
energy on the same kind of instrument, so a rule that compares spectra "at the same energy" needs the
spellings folded: :func:`parse_energy` -> :class:`Energy` (``None`` when the text names no usable energy:
stepped or several energies, kV source voltages, words), :func:`same_energy`.

Units: ``eV`` (an "eV" or a collision-cell voltage "V": a singly charged ion gains that many eV),
``NCE`` (Orbitrap normalised energy: "%", "nominal", "NCE", "HCD"; a ramp of them its two ends), ``ramp``
(a ramp's two ends, eV) and
``""`` -- a bare number, whose unit the instrument decides (QTOF: eV; Orbitrap: NCE): it is compared
only with another bare number of the same instrument type.
"""
from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple, Sequence

_NUMBER = r"(\d+(?:\.\d+)?)"
_RAMP = re.compile(rf"^ramp\s*{_NUMBER}\s*%?\s*-\s*{_NUMBER}")
_LEADING = re.compile(rf"^(?:ce\s*)?-?{_NUMBER}\s*(.*)$")
#: Two energies of one unit this close (eV or NCE points) are the same setting written twice.
SAME_WITHIN = 0.5


class Energy(NamedTuple):
    """A collision energy: ``value`` (a ramp's low end), ``high`` (a ramp's high end, else ``value``), ``unit``."""
    value: float
    high: float
    unit: str


def parse_energy(text: object) -> Energy | None:
    """The energy a library's or a file's ``collision_energy`` text names, or None when it names no one
    energy (empty, "n.d.", stepped or listed energies, kV, an m/z-scaled energy)."""
    t = " ".join(str(text or "").strip().lower().split())
    if not t or any(w in t for w in ("stepped", "scaled", ",", " or ", "kv", "->", "sori", "argon", " by ")):
        return None
    if (ramp := _RAMP.match(t)) is not None:
        if any(w in t[ramp.end():] for w in ("ev", "v")) or "%" not in t:
            return Energy(float(ramp.group(1)), float(ramp.group(2)), "ramp")
        return Energy(float(ramp.group(1)), float(ramp.group(2)), "NCE")  # a ramp of normalised energies
    if (m := _LEADING.match(t)) is None:
        return None
    value, rest = float(m.group(1)), m.group(2).strip()
    if rest.startswith(("%", "(nominal)", "nominal", "(nce)", "nce", "hcd")):
        return Energy(value, value, "NCE")
    if rest.startswith(("ev", "v")) and "(ramped)" not in rest:
        return Energy(value, value, "eV")
    if rest in ("", "cid"):
        return Energy(value, value, "")
    return None


def same_energy(a: Energy | None, b: Energy | None, instrument_a: str = "", instrument_b: str = "") -> bool:
    """Whether two spectra were fragmented at the same energy: the same unit, both ends within
    :data:`SAME_WITHIN`; two bare numbers only on the same instrument type (their unit is its)."""
    if a is None or b is None or a.unit != b.unit:
        return False
    if a.unit == "" and (not instrument_a or instrument_a != instrument_b):
        return False
    return abs(a.value - b.value) <= SAME_WITHIN and abs(a.high - b.high) <= SAME_WITHIN


@functools.lru_cache(maxsize=4)
def _energies_of(path: str, sha256: str | None) -> tuple[tuple[Energy | None, ...], tuple[str, ...]]:
    from nps_id.library import Library

    with Library.open(path) as lib:
        columns = set(lib.columns)
        n = len(lib)
        energy = lib.column("collision_energy") if "collision_energy" in columns else [None] * n
        instrument = lib.column("instrument_type") if "instrument_type" in columns else [""] * n
    return tuple(map(parse_energy, energy)), tuple(str(x or "") for x in instrument)


def library_energies(reference: Any) -> tuple[Sequence[Energy | None], Sequence[str]]:
    """Each row's collision energy (:func:`parse_energy`) and instrument type of a search reference read
    from its library file (the search's columns do not hold them), once per file; a reference of no file,
    or a library without those columns (an older or an EI build), gives None and "" for every row."""
    n = int(reference.n_spectra)
    path = getattr(reference, "path", None)
    if not path:
        return (None,) * n, ("",) * n
    energy, instrument = _energies_of(str(path), getattr(reference, "sha256", None))
    return (energy, instrument) if len(energy) == n else ((None,) * n, ("",) * n)
