"""Make ``libraries/structures-massbank.tsv.gz``: MassBank's structures keyed by full InChIKey.

Every ``nps-id library build`` consults this table (``structure_source`` "table:<sha256>"): a
record whose full InChIKey is in it gets that structure, after the same check as any candidate
(the structure's computed InChIKey must equal the record's).

Run from the project root, with the MassBank MSP exports of the release the table should follow::

    python libraries/massbank_structures.py ../shared/data/massbank/ei-library.msp.gz \\
        ../shared/data/massbank/ms2-library.msp.gz -o libraries/structures-massbank.tsv.gz

A MassBank record contributes when RDKit reads its SMILES (else its InChI) and the computed
InChIKey's first block equals the InChIKey MassBank gives (a structure attached to the wrong
record is left out); the row is keyed by the *computed* full InChIKey, so the table agrees with
itself. Of several records with one key, the most permissive licence (CC BY before CC BY-SA
before CC BY-NC-SA), then the smallest accession, wins; records under a "no derivatives"
(ND) licence are left out. Columns: inchikey, smiles, accession,
licence. The output is sorted and gzipped without a timestamp: the same inputs give the same
bytes.
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nps_id.io import read  # noqa: E402
from nps_id.library.structures import Chemistry  # noqa: E402

_LICENCE_ORDER = ("CC0", "CC BY", "CC BY-SA", "CC BY-NC", "CC BY-NC-SA")


def _licence_rank(licence: str) -> int:
    text = licence.strip().upper()
    return next((i for i, name in enumerate(_LICENCE_ORDER) if text == name), len(_LICENCE_ORDER))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="MassBank MSP exports")
    parser.add_argument("-o", "--output", required=True, type=Path)
    args = parser.parse_args(argv)
    chemistry = Chemistry()
    best: dict[str, tuple[int, str, str, str]] = {}
    for source in args.sources:
        for spectrum in read(source):
            given = str(spectrum.get("inchikey") or "")
            found = chemistry.identity(str(spectrum.get("smiles") or ""), str(spectrum.get("inchi") or ""))
            if found is None or found.inchikey[:14] != given[:14]:
                continue
            licence = str(spectrum.get("licence") or "")
            if "-ND" in licence.upper():  # "no derivatives": not copied into another work
                continue
            row = (_licence_rank(licence), str(spectrum.get("source_id") or ""), found.smiles, licence)
            if found.inchikey not in best or row < best[found.inchikey]:
                best[found.inchikey] = row
    lines = ["inchikey\tsmiles\taccession\tlicence"]
    lines += [f"{key}\t{smiles}\t{accession}\t{licence}"
              for key, (_, accession, smiles, licence) in sorted(best.items())]
    with open(args.output, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"wrote {len(best)} structures to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
