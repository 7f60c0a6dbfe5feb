"""Learn, from the libraries themselves, how often EI spectra of diastereomers match as one compound.

For every pair of library compounds of one InChIKey skeleton that compound identity
(docs/compound-identity.md) keeps apart -- diastereomers: cis / trans, E / Z, epimers, not
isotope-labelled standards --, search each compound's spectra against the library and record how
well the other matches (MF, with RMF at the identity threshold), per chemical context
(:func:`nps_id.match.isomer_rule.context_of`). The share of pairs matching at least as well as
each score of ``SCORE_GRID`` is the rate curve of the move kind ``diastereomer``, which this
script adds to the isomer rates file (``nps_id/match/isomer_rates.json``, as
``train_isomer_rates.py --add-to`` adds a kind: the curves already there are kept). The isomer
rule reads it for the hit's diastereomers the library does not hold (docs/match.md
"Stereoisomers").

    PYTHONPATH=. python benchmarks/train_diastereomer_rates.py swgdrug.h5 massbank-ei.h5

A pair counts in both directions (each compound's spectra against the other), as the isomer
rates count a compound against each of its isomers. EI libraries only: an MS/MS hit reads no
diastereomer rate. Deterministic: same libraries, same curves.

Refused input is one line on stderr and the project's exit code, before any search: 3 (an output onto a library,
an ``--add-to`` that is no usable rates file), 4 (a missing or damaged library).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from nps_id._atomic import atomic_output
from nps_id.commands.options import refuse_output_onto_inputs
from nps_id.compound import is_labelled
from nps_id.library import Library
from nps_id.match.isomer_rule import DIASTEREOMER as MOVE, RATES_PATH, SCORE_GRID, context_of
from nps_id.match.verdict import VerdictThresholds
from nps_id.search.engine import SearchSettings, search
from nps_id.search.reference import Reference
from train_isomer_rates import add_kinds, added_to, rates_for, verified_structures


def diastereomer_outcomes(path: Path, min_rmf: int) -> dict[str, list[np.ndarray]]:
    """Context -> for each ordered pair of diastereomers (compound codes of one skeleton, neither
    labelled) the share of the first's EI spectra that match one of the second's at least as
    well as each score of ``SCORE_GRID`` (MF, RMF >= ``min_rmf``)."""
    with Library.open(path) as lib:
        reference = Reference.from_library(lib)
        structures = verified_structures(lib)
        spectra = list(lib.spectra())
    cols, codes = reference.columns, reference.compound()
    rows_of: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r, key in enumerate(cols["inchikey"]):
        block = str(key)[:14]
        smiles = cols["smiles"][r] if "smiles" in cols else None
        if block and cols["ms_level"][r] != 2 and not is_labelled(cols["name"][r], cols["formula"][r], smiles):
            rows_of[block][int(codes[r])].append(r)
    pairs = [(rows, other, block) for block, compounds in rows_of.items() if len(compounds) > 1
             for code, rows in compounds.items() for other in compounds if other != code]
    wanted = sorted({r for rows, _, _ in pairs for r in rows})
    hits = search([spectra[r] for r in wanted], reference, SearchSettings(top_k=80, prefilter=300, threads=2))
    starts = np.searchsorted(hits.query, np.arange(len(wanted) + 1))
    best: dict[tuple[int, int], float] = {}  # (spectrum row, compound code) -> its best MF, 0-999
    for q, row in enumerate(wanted):
        for j in range(starts[q], starts[q + 1]):
            value = hits.mf[j] * 999 if hits.rmf[j] * 999 >= min_rmf else 0.0
            key = (row, int(codes[hits.row[j]]))
            best[key] = max(best.get(key, 0.0), float(value))
    grid = np.asarray(SCORE_GRID, dtype=float)
    outcomes: dict[str, list[np.ndarray]] = defaultdict(list)
    for rows, other, block in pairs:
        smiles = next((structures[r] for r in rows if structures[r]), None)
        context = context_of(str(cols["name"][rows[0]]), smiles, block)
        scores = np.array([best.get((r, other), 0.0) for r in rows])
        outcomes[context].append((scores[:, None] >= grid[None, :]).mean(axis=0))
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("libraries", nargs="+", type=Path, help="EI nps-id libraries (with structures)")
    parser.add_argument("--add-to", type=Path, default=RATES_PATH, help="the rates file the kind is added to")
    parser.add_argument("-o", "--output", type=Path, default=RATES_PATH)
    args = parser.parse_args()
    refuse_output_onto_inputs([args.output], args.libraries)
    base = added_to(args.add_to)  # before the minutes of searches, not after (stop 45)
    pooled: dict[str, list[np.ndarray]] = defaultdict(list)
    for path in args.libraries:
        for context, values in diastereomer_outcomes(path, VerdictThresholds().identified_rmf).items():
            pooled[context].extend(values)
    new = {"libraries": [p.name for p in args.libraries],
           "contexts": {context: {MOVE: rates_for({MOVE: values})[MOVE]} for context, values in sorted(pooled.items())}}
    out = add_kinds(base, new)
    with atomic_output(args.output) as tmp:  # a killed run never leaves a truncated rates file
        tmp.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    for context, moves in new["contexts"].items():
        curve = dict(zip(SCORE_GRID, moves[MOVE]["rate_at_score"]))
        print(f"{context:6s} {MOVE} {moves[MOVE]['pairs']:5d} pairs  rate at 800 / 900 / 950 / 970 / 980 / 990: "
              + " / ".join(f"{curve[s]:.2f}" for s in (800, 900, 950, 970, 980, 990)))


if __name__ == "__main__":
    from nps_id.errors import NpsIdError

    try:
        main()
    except NpsIdError as exc:  # one line and the project's exit code (3 bad input, 4 bad library; README "Exit
        # codes", as bench_novelty.py): SystemExit("...") exited 1, the code of a found match or a failed item
        print(f"train_diastereomer_rates: error: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
