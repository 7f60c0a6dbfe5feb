"""The :class:`Isomer` record, without RDKit: the isomer cache (:mod:`nps_id.match.library_facts`) reads
its stored isomers into it in every process, and RDKit's import (~0.06 s) is paid only when a
structure is enumerated or parsed (:mod:`nps_id.chem.isomers`)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Isomer:
    smiles: str
    inchikey: str
    move: str  # one of nps_id.chem.isomers.MOVES, refined: e.g. "ring_position:F"
