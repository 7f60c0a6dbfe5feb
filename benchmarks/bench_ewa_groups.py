"""How many SWGDRUG 3.4 records the EWA substance groups leave ``unknown`` (docs/report-schema.md).

    python benchmarks/bench_ewa_groups.py [--msp ../shared/data/swgdrug/SWGDRUG-3.4.msp.gz] [--library swg.h5]

Structures: a library's ``smiles`` column where ``structure_status`` is ``verified`` (``--library``,
once ``library build`` stores structures); otherwise OPSIN on every name and synonym (py2opsin,
needs Java), kept only when the structure's InChIKey first block equals the record's -- the same
verification ``library build`` applies. Without either, names alone.

"NPS or controlled" records, decided independently of the classifier: records contributed from
seized NPS material (SWGDRUG ``Comment`` naming ENFSI, its Drugs Working Group or the RESPONSE
project) or of drugs with a SWGDRUG monograph (``Comment`` "SWGDRUG Monograph available" -- the
monographs cover controlled drugs), minus analytical derivatives (TMS, TFA, HFBA, ... in the
name), isotope-labelled standards (``-d3`` ...) and precursors, reagents and synthesis
by-products (ENFSI contributed many: names saying ketone, aldehyde, acid, ester, nitrostyrene,
oxime, pyrimidine, formamide, ...), which are not the drugs a seizure is about.
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nps_id.io import read  # noqa: E402
from nps_id.chem.ewa_groups import classify  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "swgdrug" / "SWGDRUG-3.4.msp.gz"
_DERIVATIVE = re.compile(r"deriv|\btms\b|\d-?tms\b|tbdms|\btfa\b|hfba|pfpa|\btpc\b|bstfa|mstfa|\bhfb\b|"
                         r"\bpfp\b|acetyl derivative|, (formyl|acetyl|diacetyl)$", re.I)
_LABELLED = re.compile(r"-d\d+\b|\(d\d+\)", re.I)
#: Precursors, reagents, solvents and synthesis by-products, by what their names say they are.
_CHEMICAL = re.compile(r"propanone|propan-2-one|-one$|aldehyde|acid|ester|ether|nitro(styrene|propene|ethene)|"
                       r"oxime|glycol|pyrimidine|pyridine|formyl|formamide|aldimine|ketimine|alcohol|-ol$|nitrite|"
                       r"chloride|thiophenol|benzene|dioxalane|chromane|furan|aziridine|oxazolidine|acetyl|"
                       r"sulfide|acetate|indane$|propane$|ketone|camphor|eucalyptol|vanillin|sesamol|apaan", re.I)
NPS_SUBSET = "NPS or controlled (ENFSI/RESPONSE/monograph; no derivative, label or precursor)"
_NPS_OR_CONTROLLED = re.compile(r"ENFSI|RESPONSE|SWGDRUG Monograph available", re.I)


def _dotted_greek(name: str) -> str:
    return re.sub(r"\.(alpha|beta|gamma|delta|omega)\.",
                  lambda m: {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "omega": "ω"}[m.group(1)], name)


def opsin_structures(records: list[dict]) -> list[str]:
    """Verified OPSIN structure per record ("" when none): first name or synonym whose structure
    has the record's InChIKey first block."""
    from py2opsin import py2opsin
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    names = sorted({_dotted_greek(n) for r in records for n in r["names"]})
    with tempfile.TemporaryDirectory() as tmp:
        parsed = dict(zip(names, py2opsin(names, tmp_fpath=str(Path(tmp) / "names.txt"), allow_bad_stereo=True)))
    out = []
    for r in records:
        found = ""
        for name in r["names"]:
            mol = Chem.MolFromSmiles(parsed.get(_dotted_greek(name)) or "") if parsed.get(_dotted_greek(name)) else None
            if mol is not None and r["inchikey"] and Chem.MolToInchiKey(mol)[:14] == r["inchikey"][:14]:
                found = Chem.MolToSmiles(mol)
                break
        out.append(found)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--msp", type=Path, default=DATA)
    parser.add_argument("--library", type=Path, default=None, help="an nps-id library with verified structures")
    args = parser.parse_args()
    records = [{"name": s.name or "", "names": [s.name or ""] + list(s.get("synonyms") or ()),
                "inchikey": s.get("inchikey") or "", "comment": s.get("comments") or ""} for s in read(args.msp)]
    start = time.perf_counter()
    if args.library:
        from nps_id.library import Library

        with Library.open(args.library) as lib:
            smiles = [str(v) for v in lib.column("smiles")]
            status = [str(v) for v in lib.column("structure_status")]
        structures = [s if st == "verified" else "" for s, st in zip(smiles, status)]
        how = f"verified structures of {args.library.name}"
    else:
        structures = opsin_structures(records)
        how = "OPSIN, InChIKey first block verified"
    print(f"structures ({how}): {sum(map(bool, structures))}/{len(records)} in {time.perf_counter() - start:.1f} s")
    subsets = {
        "all records": [True] * len(records),
        NPS_SUBSET: [
            bool(_NPS_OR_CONTROLLED.search(r["comment"])) and not _DERIVATIVE.search(r["name"])
            and not _LABELLED.search(r["name"]) and not _CHEMICAL.search(r["name"]) for r in records],
    }
    for label, use in (("names only", False), ("structures first, then names", True)):
        start = time.perf_counter()
        classes = [classify(r["name"], r["names"][1:], smiles=(s or None) if use else None,
                            inchikey=r["inchikey"] or None) for r, s in zip(records, structures)]
        seconds = time.perf_counter() - start
        print(f"\n{label} ({seconds:.1f} s)")
        for subset, mask in subsets.items():
            chosen = [c for c, m in zip(classes, mask) if m]
            unknown = sum(c.group == "unknown" for c in chosen)
            effects = sum(c.effect is not None for c in chosen)
            by_structure = sum(c.source == "structure" for c in chosen)
            print(f"  {subset}: {len(chosen)} records, unknown {unknown} ({unknown / len(chosen):.1%}), "
                  f"decided by structure {by_structure}, with an effect group {effects}")
        counts = collections.Counter((c.group, c.subclass) for c in classes)
        print("  groups:", ", ".join(f"{g}/{s or '-'} {n}" for (g, s), n in counts.most_common()))
    mask = subsets[NPS_SUBSET]
    left = [r["name"] for r, c, m in zip(records, classes, mask) if m and c.group == "unknown"]
    print(f"\nNPS/controlled records still unknown ({len(left)}):", "; ".join(sorted(left)))


if __name__ == "__main__":
    main()
