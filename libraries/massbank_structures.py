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
before CC BY-NC-SA), then the smallest accession, wins. Records under a "no derivatives" (ND)
licence, or without a licence, are left out, and so are non-commercial (NC) ones unless
``--include-nc`` is given: the shipped table holds CC0, CC BY, CC BY-SA and dl-de/by-2-0 rows
only, so it can be redistributed (as a whole under CC BY-SA 4.0, each row naming its record). Columns: inchikey, smiles, accession,
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

_LICENCE_ORDER = ("CC0", "CC BY", "DL-DE/BY-2-0", "CC BY-SA", "CC BY-NC", "CC BY-NC-SA")


def _licence_rank(licence: str) -> int:
    text = licence.strip().upper()
    return next((i for i, name in enumerate(_LICENCE_ORDER) if text == name), len(_LICENCE_ORDER))


def _allowed(licence: str, include_nc: bool) -> bool:
    """Open licences only: never "no derivatives" (ND); "non-commercial" (NC) on request."""
    text = licence.upper()
    return "-ND" not in text and (include_nc or "-NC" not in text) and bool(text.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="MassBank MSP exports")
    parser.add_argument("-o", "--output", required=True, type=Path)
    parser.add_argument("--include-nc", action="store_true",
                        help="also take records under non-commercial (CC BY-NC, CC BY-NC-SA) "
                             "licences (for a lab's own table, not the one shipped)")
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
            if not _allowed(licence, args.include_nc):
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
