"""EI diagnostic ions: sets of fragment ions that by themselves point a spectrum to an EWA group.

A new substance's closest library spectra may be too far away, or too mixed, to agree on a family
(:func:`nps_id.match.assess._family`), but the core of a series fragments the same
way whatever its side chains: the ions of that core say which series it belongs to. Only ion sets
whose chemistry is established *and* which point to one group in the library are kept; each set
needs all its ions at or above its relative abundance (nominal m/z, fraction of the base peak).

Measured on SWGDRUG 3.4 (2,988 EI spectra, groups from their structures; ``docs/match.md``):
precision in the library, and as the fallback of :func:`nps_id.match.assess` -- the spectra of
the development tasks (``benchmarks/bench_novelty.py``, EI, compound left out) whose closest hits
name no group, where a set names the right group / a group for a compound of none / another group:

========================  =======================  ============  ===========  ===================
set                       group                    precision     recall       fallback
========================  =======================  ============  ===========  ===================
m/z 42, 96, 105 >= 15 %   fentanyl analogues       42/51 0.82    0.24         3 right / 1 / 0
m/z 127, 155 >= 15 %      synthetic cannabinoids   88/91 0.97    0.18         7 right / 3 / 2
========================  =======================  ============  ===========  ===================

At 10 % (recall 0.59 and 0.20, precision 0.86 and 0.85) the fallback named 6 right / 6 / 3 and
8 right / 8 / 3: the spectra that reach it are the ones whose relatives disagree, and there m/z
42/96/105 at 10-25 % also come from benzoyl esters of N-methylpiperidines and tropanes
(clidinium, cocaine: benzoyl C7H5O+ at m/z 105), m/z 127/155 from naphthalene and steroid ions.

Sets tried and left out because they point to several groups in the library (precision < 0.8):
the 4-anilinopiperidine ions m/z 146/189 (anabolic steroids share them), indole- and
indazole-3-carbonyl acylium m/z 144/116 and 145/117 (0.65 and 0.22: steroid and opioid fragments of
the same masses), iminium ions C(n)H(2n+2)N+ with a benzoyl ion (cathinones, 0.46: phenethylamines
give the same iminium ions) or a tropylium ion (phenethylamines, 0.59).

Entry points: :data:`ION_SETS`, :func:`group_from_ions`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class IonSet:
    """Ions (nominal m/z) that must all reach ``min_relative`` of the base peak."""

    name: str
    group: str  # EWA group or subclass label, as :func:`nps_id.chem.ewa_groups.classify` gives it
    ions: tuple[int, ...]
    min_relative: float


ION_SETS: tuple[IonSet, ...] = (
    # N-phenethylpiperidines (fentanyl and its acyl/ring analogues): the phenethyl cation C8H9+
    # (m/z 105) from the N-substituent, and the piperidine ring's tetrahydropyridinium C6H10N+
    # (m/z 96) and C2H4N+ (m/z 42) from cleavage next to the ring nitrogen. Acyl and aniline-ring
    # changes move the 4-anilino ions (m/z 245, 189, 146 in fentanyl) but not these.
    IonSet("N-phenethylpiperidine ions (m/z 42, 96, 105)", "Fentanyl analogues", (42, 96, 105), 0.15),
    # Naphthoyl indoles/pyrroles (JWH series): the 1-naphthoyl acylium C11H7O+ (m/z 155) and the
    # naphthyl cation C10H7+ (m/z 127) it gives by losing CO.
    IonSet("naphthoyl acylium ions (m/z 127, 155)", "Synthetic cannabinoid receptor agonists", (127, 155), 0.15),
)


def group_from_ions(relative: Mapping[int, float]) -> IonSet | None:
    """The first :data:`ION_SETS` entry whose ions the spectrum holds (``relative``: nominal m/z
    -> fraction of the base peak), or None."""
    for ion_set in ION_SETS:
        if all(relative.get(m, 0.0) >= ion_set.min_relative for m in ion_set.ions):
            return ion_set
    return None
