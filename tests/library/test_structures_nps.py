"""The shipped table of hand-drawn structures (``libraries/structures-nps.tsv``).

Its rows are SWGDRUG records whose names OPSIN cannot read (NPS trade names and codes). Each
row must give its own InChIKey (RDKit, independent of nps_id's code), and a SWGDRUG build must
take them from the table as verified structures.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nps_id._hashing import sha256_path
from nps_id.library import Library
from nps_id.library.structures import default_tables

rdkit = pytest.importorskip("rdkit")
from rdkit import Chem  # noqa: E402

TABLE = Path(__file__).resolve().parents[2] / "libraries" / "structures-nps.tsv"


def _rows() -> list[dict[str, str]]:
    with TABLE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_every_row_gives_its_own_inchikey():
    rows = _rows()
    assert len(rows) >= 350
    wrong = [(r["name"], r["inchikey"], Chem.MolToInchiKey(Chem.MolFromSmiles(r["smiles"])))
             for r in rows if Chem.MolToInchiKey(Chem.MolFromSmiles(r["smiles"])) != r["inchikey"]]
    assert not wrong
    assert len({r["inchikey"] for r in rows}) == len(rows)
    assert all(r["name"] and r["note"] for r in rows)


def test_every_build_consults_the_table():
    assert TABLE in default_tables()


def test_swgdrug_build_gets_the_drawn_structures_verified(swgdrug_library):
    keys = {r["inchikey"] for r in _rows()}
    origin = f"table:{sha256_path(TABLE).sha256}"
    with Library.open(swgdrug_library) as lib:
        c = {k: lib.column(k) for k in ("name", "inchikey", "smiles", "structure_source", "structure_status")}
    rows = [i for i, key in enumerate(c["inchikey"]) if key in keys]
    assert len(rows) >= 360  # a key can name several records
    for i in rows:
        assert c["structure_source"][i] == origin and c["structure_status"][i] == "verified", c["name"][i]
        assert Chem.MolToInchiKey(Chem.MolFromSmiles(str(c["smiles"][i]))) == c["inchikey"][i]
    named = {str(c["name"][i]) for i in rows}
    assert {"MDMB-FUBICA", "AB-001", "Diclazepam", "meta-Fluorofentanyl", "Bromo-DragonFLY"} <= named


def _checker():
    import importlib.util

    path = TABLE.with_name("check_structure_table.py")
    spec = importlib.util.spec_from_file_location("check_structure_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checking_script_says_which_rows_verify_and_what_is_open(swgdrug_library, tmp_path, capsys):
    check = _checker()
    lines, broken = check.check(swgdrug_library, TABLE)
    status = [line[0] for line in lines]
    assert broken == 0 and status.count("verifies") == len(_rows()) and "differs" not in status
    assert "open" in status  # records whose InChIKey is not their name's compound stay open
    # a row drawn wrong (isobutyryl for butyryl) is named, and the exit code says so
    wrong = tmp_path / "wrong.tsv"
    butyryl = Chem.MolToInchiKey(Chem.MolFromSmiles("CCCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"))
    wrong.write_text(f"inchikey\tsmiles\n{butyryl}\tCC(C)C(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1\n")
    assert check.main([str(swgdrug_library), str(wrong)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out[1:] if not line.startswith("open")] == ["differs"]
