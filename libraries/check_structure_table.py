"""Check a structure table against a library: what it gives, what it cannot, what is still open.

Used to grow ``libraries/structures-nps.tsv`` (structures drawn by hand from record names): a
build keeps a table row for a record only when RDKit's InChIKey of the row's structure equals
the record's full InChIKey, so a row is worth shipping only when that holds. Run from the
project root::

    python libraries/check_structure_table.py swgdrug.h5 libraries/structures-nps.tsv

One TSV line per InChIKey (header ``status inchikey records name detail``), ``status`` one of:

- ``verifies`` -- the row's structure has the record's full InChIKey (a build stores it);
- ``differs`` -- a library record has the row's key but the structure gives another key
  (``detail``: the computed key; same first block: a stereo layer to fix; another first block:
  another compound, or a record whose InChIKey is not its name's);
- ``unused`` -- no library record has the row's key (``detail``: whether the row agrees with
  itself);
- ``open`` -- a record with an InChIKey but no verified structure, not in the table.

Exit code 1 when a row's structure does not give its own key (such a row must not be shipped),
else 0. ``--open-only`` prints the ``open`` lines only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nps_id.library import Library  # noqa: E402
from nps_id.library.structures import VERIFIED, Chemistry, read_structure_table  # noqa: E402


def check(library: Path, table: Path) -> tuple[list[tuple[str, str, int, str, str]], int]:
    """The lines described above, and how many rows disagree with their own key."""
    rows = read_structure_table(table)
    with Library.open(library) as lib:
        keys, names, status = (lib.column(c) for c in ("inchikey", "name", "structure_status"))
    records: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key:
            records.setdefault(str(key), []).append(i)
    chem, lines, broken = Chemistry(), [], 0
    for key, (smiles, inchi) in sorted(rows.items()):
        found = chem.identity(smiles, inchi)
        computed = found.inchikey if found else "unreadable"
        broken += computed != key
        where = records.get(key, [])
        name = str(names[where[0]]) if where else ""
        if not where:
            lines.append(("unused", key, 0, name, "agrees" if computed == key else computed))
        elif computed == key:
            lines.append(("verifies", key, len(where), name, ""))
        else:
            lines.append(("differs", key, len(where), name, computed))
    for key, where in sorted(records.items(), key=lambda item: str(names[item[1][0]]).lower()):
        if key not in rows and all(status[i] != VERIFIED for i in where):
            lines.append(("open", key, len(where), str(names[where[0]]), ""))
    return lines, broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("library", type=Path, help="an nps-id library (built with or without the table)")
    parser.add_argument("table", type=Path, help="a structure table (inchikey, smiles or inchi, ...)")
    parser.add_argument("--open-only", action="store_true", help="only records still without a structure")
    args = parser.parse_args(argv)
    lines, broken = check(args.library, args.table)
    print("status\tinchikey\trecords\tname\tdetail")
    for line in lines:
        if not args.open_only or line[0] == "open":
            print("\t".join(map(str, line)))
    counts = {s: sum(1 for line in lines if line[0] == s) for s in ("verifies", "differs", "unused", "open")}
    print(", ".join(f"{n} {s}" for s, n in counts.items()), file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
