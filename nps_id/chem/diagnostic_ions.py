"""EI diagnostic ions: sets of fragment ions that by themselves point a spectrum to an EWA group.

A new substance's closest library spectra may be too far away, or too mixed, to agree on a family
(:func:`nps_id.match.substance_group._family`), but the core of a series fragments the same
way whatever its side chains: the ions of that core say which series it belongs to. Each set is
a feature of the EI suspected-group model (:mod:`nps_id.match.group_model`); the "fallback"
column below measures the sets when they named the group after the vote (stop 20). Only ion sets
whose chemistry is established *and* which point to one group in the library are kept; each set
needs all its ions at or above its relative abundance (nominal m/z, fraction of the base peak).

Measured on SWGDRUG 3.4 (2,988 EI spectra, groups from their structures; ``docs/match.md``):
precision in the library, and as the fallback of :func:`nps_id.match.assess` -- the spectra of
the development tasks (``benchmarks/bench_novelty.py``, EI, compound left out) whose closest hits
name no group, where a set names the right group / a group for a compound of none / another group:

===========================  =======================  ============  ===========  ===============
set                          group                    precision     recall       fallback
===========================  =======================  ============  ===========  ===============
m/z 42, 96, 105 >= 15 %      fentanyl analogues       42/51 0.82    0.24         3 right / 1 / 0
m/z 127, 155 >= 15 %         synthetic cannabinoids   88/91 0.97    0.18         7 right / 3 / 2
m/z 144, 214 >= 15 %         synthetic cannabinoids   74/74 1.00    0.15         3 right / 1 / 0
m/z 144, 232 >= 15 %         synthetic cannabinoids   56/56 1.00    0.11         2 right / 1 / 0
m/z 144, 240 >= 15 %         synthetic cannabinoids   13/14 0.93    0.03         1 right / 0 / 0
m/z 144, 200 >= 15 %         synthetic cannabinoids   15/16 0.94    0.03         2 right / 0 / 0
m/z 109, 253 >= 20 %         synthetic cannabinoids   16/17 0.94    0.03         1 right / 0 / 0
===========================  =======================  ============  ===========  ===============

(Recall: share of the group's SWGDRUG spectra holding the set; sets are tried in this order.)
The first two at 10 % (recall 0.59 and 0.20, precision 0.86 and 0.85) named 6 right / 6 / 3 and
8 right / 8 / 3 in the fallback: the spectra that reach it are the ones whose relatives disagree,
and there m/z 42/96/105 at 10-25 % also come from benzoyl esters of N-methylpiperidines and tropanes
(clidinium, cocaine: benzoyl C7H5O+ at m/z 105), m/z 127/155 from naphthalene and steroid ions.

The indole-3-carbonyl sets need the N-tail's acylium: m/z 144 alone is a steroid and opioid ion too.
Sets tried and left out because they point to several groups in the library (precision < 0.8):
the 4-anilinopiperidine ions m/z 146/189 (anabolic steroids share them), indole- and
indazole-3-carbonyl acylium m/z 144/116 and 145/117 (0.65 and 0.22: steroid and opioid fragments of
the same masses), the indazole ones with their N-tail's acylium (145 with 215, 233 or 241 at
15 %: 0.45, 0.68, 0.75 -- steroids give the same nominal masses; kept since stop 30 as
:data:`ACYLIUM_SETS`, with the steroids' ring ions required absent), iminium ions C(n)H(2n+2)N+ with a
benzoyl ion (cathinones, 0.46: phenethylamines give the same iminium ions) or a tropylium ion
(phenethylamines, 0.59).

Entry points: :data:`ION_SETS` (the group model's features), :data:`ACYLIUM_SETS` (named after
the model, :func:`nps_id.match.substance_group.acylium_group`), :func:`group_from_ions`.
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
    # ions that must each stay below ``max_absent`` of the base peak (another series' ions)
    absent: tuple[int, ...] = ()
    max_absent: float = 0.0

    def held_by(self, relative: Mapping[int, float]) -> bool:
        """Whether a nominal spectrum (m/z -> fraction of the base peak) holds this set."""
        return (all(relative.get(m, 0.0) >= self.min_relative for m in self.ions)
                and all(relative.get(m, 0.0) < self.max_absent for m in self.absent))


ION_SETS: tuple[IonSet, ...] = (
    # N-phenethylpiperidines (fentanyl and its acyl/ring analogues): the phenethyl cation C8H9+
    # (m/z 105) from the N-substituent, and the piperidine ring's tetrahydropyridinium C6H10N+
    # (m/z 96) and C2H4N+ (m/z 42) from cleavage next to the ring nitrogen. Acyl and aniline-ring
    # changes move the 4-anilino ions (m/z 245, 189, 146 in fentanyl) but not these.
    IonSet("N-phenethylpiperidine ions (m/z 42, 96, 105)", "Fentanyl analogues", (42, 96, 105), 0.15),
    # Naphthoyl indoles/pyrroles (JWH series): the 1-naphthoyl acylium C11H7O+ (m/z 155) and the
    # naphthyl cation C10H7+ (m/z 127) it gives by losing CO.
    IonSet("naphthoyl acylium ions (m/z 127, 155)", "Synthetic cannabinoid receptor agonists", (127, 155), 0.15),
    # Indole-3-carbonyl cannabinoids (carboxamides, esters, ketones): the 1-substituted
    # indole-3-carbonyl acylium from cleavage at the carbonyl, and the bare indole-3-carbonyl
    # C9H6NO+ (m/z 144) left when the N-substituent goes as an alkene -- one set per N-tail of the
    # series: pentyl C14H16NO+ (m/z 214), 5-fluoropentyl C14H15FNO+ (232), cyclohexylmethyl
    # C16H18NO+ (240), butyl C13H14NO+ (200).
    IonSet("1-pentylindole-3-carbonyl ions (m/z 144, 214)", "Synthetic cannabinoid receptor agonists", (144, 214), 0.15),
    IonSet("1-(5-fluoropentyl)indole-3-carbonyl ions (m/z 144, 232)", "Synthetic cannabinoid receptor agonists",
           (144, 232), 0.15),
    IonSet("1-(cyclohexylmethyl)indole-3-carbonyl ions (m/z 144, 240)", "Synthetic cannabinoid receptor agonists",
           (144, 240), 0.15),
    IonSet("1-butylindole-3-carbonyl ions (m/z 144, 200)", "Synthetic cannabinoid receptor agonists", (144, 200), 0.15),
    # 1-(4-fluorobenzyl)indazole-3-carbonyl cannabinoids (AB-/ADB-/AMB-FUBINACA): the
    # fluorobenzyl cation C7H6F+ (m/z 109) and the acylium C15H10FN2O+ (m/z 253); at 10-15 % the
    # pair also comes from fluorophenyl benzodiazepines and from (des)loratadine.
    IonSet("1-(4-fluorobenzyl)indazole-3-carbonyl ions (m/z 109, 253)", "Synthetic cannabinoid receptor agonists",
           (109, 253), 0.20),
)


#: The saturated-ring hydrocarbon ions of steroids (C6H7+ 79, C6H9+ 81, C7H9+ 93, C8H11+ 107): a
#: steroid's D-ring cleavage gives m/z 145, 213, 215, 233 and 241 as well, but with these at 40-100 %
#: of its base peak; an indazole carboxamide shows them below 20 %.
STEROID_RING_IONS = (79, 81, 93, 107)

#: 1-substituted indazole-3-carbonyl cannabinoids (the PINACA / PICA-indazole carboxamides and
#: esters: AB-, ADB-, AMB-, MDMB-, CUMYL-, APINACA; 5F-, 4en-, CHM-): cleavage at the carboxamide
#: gives the N-tail's acylium as base or major peak, which loses the tail as an alkene to the bare
#: indazole-3-carbonyl C8H5N2O+ (m/z 145). Not features of the shipped group model (trained before
#: them): they name the group where the model names none (:func:`nps_id.match.substance_group.acylium_group`).
#: Both ions >= 30 % of the base peak and the steroid ring ions below 20 %; precision on SWGDRUG 3.4
#: (groups from structures): pentyl C13H15N2O+ 215 15/15 (without the ring-ion condition 16/17),
#: 5-fluoropentyl C13H14FN2O+ 233 22/22 (23/23), cyclohexylmethyl C15H17N2O+ 241 8/8 (9/10),
#: pent-4-enyl C13H13N2O+ 213 6/6 (10/15); with 145 at 15 %, without the condition, 215 held 16
#: cannabinoids of 27 spectra.
ACYLIUM_SETS: tuple[IonSet, ...] = tuple(
    IonSet(f"1-{tail}indazole-3-carbonyl ions (m/z 145, {acylium})", "Synthetic cannabinoid receptor agonists",
           (145, acylium), 0.3, STEROID_RING_IONS, 0.2)
    for tail, acylium in (("pentyl", 215), ("(5-fluoropentyl)", 233), ("(cyclohexylmethyl)", 241),
                          ("(pent-4-enyl)", 213))
)


def group_from_ions(relative: Mapping[int, float], sets: tuple[IonSet, ...] = ION_SETS) -> IonSet | None:
    """The first of ``sets`` whose ions the spectrum holds (``relative``: nominal m/z -> fraction
    of the base peak), or None."""
    return next((ion_set for ion_set in sets if ion_set.held_by(relative)), None)
