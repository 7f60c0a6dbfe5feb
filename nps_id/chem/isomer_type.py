"""The :class:`Isomer` record, without RDKit: the isomer cache (:mod:`nps_id.match.library_facts`) reads
its stored isomers into it in every process, and RDKit's import (~0.06 s) is paid only when a
structure is enumerated or parsed (:mod:`nps_id.chem.isomers`)."""
from __future__ import annotations

from dataclasses import dataclass

#: Moves only an MS/MS hit's isomer check reads and only MS/MS pairs learn (stop 49): ``chain_position``
#: was measured for EI at stop 36 and not kept there.
MS2_ONLY_MOVES = frozenset({"chain_position"})


@dataclass(frozen=True)
class Isomer:
    smiles: str
    inchikey: str
    move: str  # one of nps_id.chem.isomers.MOVES, refined: e.g. "ring_position:F"
