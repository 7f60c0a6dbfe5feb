"""The library's own evidence for the "one nitrogen-bearing ion" criterion (docs/match.md, stop 31).

For every ordered pair of library records (query, candidate) whose candidate spectrum is one
nitrogen-bearing ion (:func:`nps_id.match.dominant_ion.one_ion_spectrum`, the shipped thresholds)
and which match at MF >= 800 and RMF >= 850 (the search's composite score), how often the
criterion fails (:func:`~nps_id.match.dominant_ion.rest_disagrees`): for records of the same
compound (InChIKey first block; isotope-labelled records aside), which it should never reject,
and for different compounds sharing the base peak, which it should tell apart.

    PYTHONPATH=. python benchmarks/one_ion_pairs.py swg25.h5 [mbei.h5] [--different]
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from itertools import permutations
from pathlib import Path

from nps_id.compound import is_labelled
from nps_id.library import Library
from nps_id.match.library_facts import LibraryFacts
from nps_id.match.dominant_ion import one_ion_spectrum, rest_disagrees
from nps_id.match.verdict import VerdictThresholds
from nps_id.search.reference import Reference
from nps_id.search.scores.composite import CompositeMatchFactor


def pairs(path: Path, different: bool, t: VerdictThresholds) -> tuple[int, list[tuple[str, str, int, tuple]]]:
    """(pairs evaluated, the failing ones as (query, candidate, MF, disagreeing ions))."""
    with Library.open(path) as lib:
        reference, spectra = Reference.from_library(lib), list(lib.spectra())
    facts, score = LibraryFacts(reference), CompositeMatchFactor()
    rows = [r for r in range(reference.n_spectra) if facts.block(r) and facts.nominal(r)
            and not is_labelled(facts.name(r), facts.formula(r), facts.structure(r))]
    base = {r: one_ion_spectrum(facts.nominal(r), facts.formula(r), facts.mass(r), t.one_ion_share,
                                t.molecular_ion_level) for r in rows}
    if different:  # a candidate and any other compound's record whose base peak is the same
        by_base: dict[int, list[int]] = defaultdict(list)
        for r in rows:
            by_base[max(facts.nominal(r), key=facts.nominal(r).get)].append(r)
        candidates = ((q, c) for group in by_base.values() for q, c in permutations(group, 2)
                      if base[c] is not None and facts.block(q) != facts.block(c))
    else:
        by_block: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            by_block[facts.block(r)].append(r)
        candidates = ((q, c) for group in by_block.values() for q, c in permutations(group, 2) if base[c] is not None)
    n, failed = 0, []
    for q, c in candidates:
        parts = score.pair(spectra[q], spectra[c]).parts
        if parts["mf"] < t.identified_mf or parts["rmf"] < t.identified_rmf:
            continue
        n += 1
        found = rest_disagrees(facts.nominal(q), facts.nominal(c), base[c], facts.mass(c), t.one_ion_rest_level,
                               t.one_ion_rest_factor)
        if found:
            failed.append((facts.name(q), facts.name(c), parts["mf"], found))
    return n, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("libraries", type=Path, nargs="+")
    parser.add_argument("--different", action="store_true", help="pairs of different compounds (one base peak)")
    args = parser.parse_args()
    for path in args.libraries:
        n, failed = pairs(path, args.different, VerdictThresholds())
        what = "different compounds, one base peak" if args.different else "the same compound"
        print(f"{path.name}: {what}, pairs at MF >= 800 / RMF >= 850: {n}, criterion fails: {len(failed)}")
        for query, candidate, mf, ions in failed[:20]:
            shown = ", ".join(f"m/z {m} {r:.1%} vs {u:.1%}" for m, r, u in ions[:3])
            print(f"    {query} -> {candidate} (MF {mf}): {shown}")


if __name__ == "__main__":
    main()
