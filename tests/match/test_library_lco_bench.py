"""benchmarks/bench_library_lco.py (stop 50): every library record as a query, its compound left out (``lco``) or only
the record itself (``present``). What a reader of its numbers relies on: a left-out compound is never found again,
a record never finds itself, a compound with another record can be found through it, the sample is the same for
the same seed, and the intervals are Wilson's. Real SWGDRUG records (skipped when the data are absent)."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_library_lco as bench  # noqa: E402

SCRIPT = Path(bench.__file__)


class _Record(dict):
    """What sample_rows reads of a spectrum: its metadata by ``get``."""


def test_the_sample_is_one_record_per_compound_and_instrument_type_and_the_same_for_a_seed():
    records = [_Record(inchikey=f"{c:014d}-X", instrument_type=t) for c in range(30) for t in ("QTOF", "ITFT") for _ in range(3)]
    rows = bench.sample_rows(records, None, 0)
    assert rows.tolist() == list(range(len(records)))  # no --sample: every record
    picked = bench.sample_rows(records, 1000, 0)
    groups = [(records[r]["inchikey"], records[r]["instrument_type"]) for r in picked.tolist()]
    assert len(groups) == len(set(groups)) == 60  # each (compound, instrument type) once
    assert bench.sample_rows(records, 20, 7).tolist() == bench.sample_rows(records, 20, 7).tolist()
    assert len(bench.sample_rows(records, 20, 7)) == 20
    assert bench.sample_rows(records, 20, 7).tolist() != bench.sample_rows(records, 20, 8).tolist()


def test_the_intervals_are_wilson_s():
    # Newcombe (1998), Stat Med 17:857, table I, method 3 (the score interval): values computed there, not here
    for (k, n), expected in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605), (0, 20): (0.0, 0.1611),
                             (1, 29): (0.0061, 0.1718)}.items():
        low, high = bench.wilson(k, n)
        assert (round(low, 4), round(high, 4)) == expected, (k, n)
    assert bench.wilson(0, 0) == (0.0, 1.0)  # nothing measured: nothing known


def test_a_name_cut_short_inside_its_stereo_descriptors_is_read_at_once_and_the_descriptors_still_go():
    # attack51: "(R,1R,1R,..." never closed (a long name cut at a length limit) backtracked the stereo pattern,
    # doubling with each descriptor (14: 2.5 s, 40: would not end)
    import time

    cut = "(" + "R,1" * 16 + "X"  # the old pattern: ~10 s here
    start = time.perf_counter()
    assert bench.name_key(cut) == bench.normalise_name(cut)  # nothing closed: nothing dropped
    assert time.perf_counter() - start < 1.0
    for name, key in {"(1R)-(-)-MYRTENOL": "myrtenol", "(+/-)-Ketamine": "ketamine", "(±)-MDMA": "mdma",
                      "DL-Alanine": "alanine", "(2S,3R)-x (Z)": "x", "(1,2)-diol": "(1,2)-diol",
                      "(S/R)-x": "(s/r)-x"}.items():
        assert bench.name_key(name) == key, name


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NPS_ID_CACHE", str(tmp_path_factory.getbasetemp() / "bench-cache"))


def _details(swgdrug_library: Path, tmp_path: Path, *args: str) -> list[dict]:
    out = tmp_path / "details.tsv"
    result = subprocess.run([sys.executable, str(SCRIPT), "--library", str(swgdrug_library), "--cache",
                             str(tmp_path / "hits"), "--details", str(out), *args], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr
    assert "lco all: queries" in result.stdout
    return list(csv.DictReader(out.open(encoding="utf-8"), delimiter="\t"))


def test_a_left_out_compound_is_never_found_and_a_record_never_finds_itself(swgdrug_library, tmp_path):
    rows = _details(swgdrug_library, tmp_path, "--sample", "60", "--seed", "3")
    lco = [r for r in rows if r["task"] == "lco"]
    present = [r for r in rows if r["task"] == "present"]
    assert len(lco) == len(present) == 60
    assert [r["library_row"] for r in lco] == [r["library_row"] for r in present]
    # left out: whatever the verdict, the top hit is never the query's compound
    assert not [r["query"] for r in lco if r["top_hit_right"] == "True"]
    # present: a record whose compound has no other record cannot be found (it is not its own hit) ...
    assert not [r["query"] for r in present if r["replicate"] == "False" and r["top_hit_right"] == "True"]
    # ... and one that has another record is found through it (SWGDRUG holds a few such compounds in 60)
    assert [r for r in present if r["replicate"] == "True" and r["top_hit_right"] == "True"]
    # the search is cached per sample: the same seed reads it, another seed searches its own
    assert len(list((tmp_path / "hits").iterdir())) == 1
    again = _details(swgdrug_library, tmp_path, "--sample", "60", "--seed", "3")
    assert again == rows
    _details(swgdrug_library, tmp_path, "--sample", "60", "--seed", "4", "--task", "lco")
    assert len(list((tmp_path / "hits").iterdir())) == 2


def test_a_sample_of_no_query_is_one_line_exit_3(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--library", str(tmp_path / "x.h5"), "--sample", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1] == "bench_library_lco: error: --sample: 0: give a positive number of queries"


def test_a_lever_that_is_not_one_thresholds_value_is_one_line_exit_3(tmp_path):
    # --set measures one VerdictThresholds value: two values, an unknown field or no value would run the default rules
    for given in ("isomer_min_rate=0.04,0.03", "no_such_field=1", "isomer_min_rate"):
        result = subprocess.run([sys.executable, str(SCRIPT), "--library", str(tmp_path / "x.h5"), "--set", given],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.splitlines()[-1].startswith(f"bench_library_lco: error: --set: {given}: not KEY=VALUE")


def _bench(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=900)


def test_a_cache_that_is_a_file_or_cannot_be_written_is_one_line_exit_3(swgdrug_library, tmp_path):
    # found before the search (minutes on a whole library), not as a traceback after it (attack50)
    (tmp_path / "a file").write_text("mine\n")
    unwritable = Path("/proc/self")  # a folder no one can write a file into, root included
    for cache in [tmp_path / "a file"] + [unwritable] * unwritable.is_dir():
        result = _bench("--library", swgdrug_library, "--sample", 2, "--cache", cache)
        assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"bench_library_lco: error: --cache: {cache}"), line
    assert (tmp_path / "a file").read_text() == "mine\n"


def test_a_damaged_cache_file_is_one_line_exit_3_and_left_as_it_was(swgdrug_library, tmp_path):
    cache = tmp_path / "hits"
    first = _bench("--library", swgdrug_library, "--sample", 2, "--cache", cache, "--task", "lco")
    assert first.returncode == 0, first.stderr
    (cached,) = cache.iterdir()
    for damage in (cached.read_bytes()[:300], b"not a zip"):  # cut short (a full disk), another program's file
        cached.write_bytes(damage)
        result = _bench("--library", swgdrug_library, "--sample", 2, "--cache", cache, "--task", "lco")
        assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"bench_library_lco: error: --cache: {cached}: not a cache of search hits"), line
        assert "remove it to search again" in line and cached.read_bytes() == damage


def test_a_library_of_no_record_to_query_is_one_line_exit_3(tmp_path):
    # an MS/MS record without its precursor m/z is no query (sample_rows): it was an IndexError (attack50)
    from click.testing import CliRunner

    from nps_id.cli import cli

    record = "\n".join(["Name: Diphenylamine", "SMILES: C1=CC=C(C=C1)NC2=CC=CC=C2", "Spectrum_type: MS2",
                        "Ion_mode: P", "Num Peaks: 3", "77.04 10", "93.06 40", "170.1 100", ""])
    (tmp_path / "one.msp").write_text(record, encoding="utf-8")
    library = tmp_path / "one.h5"
    built = CliRunner().invoke(cli, ["library", "build", str(tmp_path / "one.msp"), "-o", str(library)])
    assert built.exit_code == 0, built.output
    result = _bench("--library", library, "--details", tmp_path / "out.tsv")
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert line == (f"bench_library_lco: error: --library: {library}: no record `nps-id search` takes as a query "
                    "(an MS/MS one needs its precursor m/z)")
    assert not (tmp_path / "out.tsv").exists()


def test_a_negative_seed_is_one_line_exit_3(tmp_path):
    # numpy's generator refuses it: a ValueError traceback after the library's load (attack50)
    result = _bench("--library", tmp_path / "x.h5", "--sample", 5, "--seed", -1)
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines() == ["bench_library_lco: error: --seed: -1: give a number 0 or above"]


def test_a_task_with_nothing_identified_says_0_of_0_wrong_not_0_of_1():
    # 0/1 [0.000, 0.793] claimed one identification judged right, and an interval it did not have (attack50)
    row = dict.fromkeys(bench.HEADER)
    row.update(task="present", verdict="tentative", new_substance=False, rule="weak match", in_dev=False, replicate=True)
    (line, _) = bench.summary("present", [list(row.values())])[:2]
    assert "identified 0 (wrong 0: 0/0 0.000 [0.000, 1.000])" in line, line


def _msp(records: list[tuple[str, str, str, str, str]]) -> str:
    """An EI MSP of (name, formula, InChIKey or "", SMILES or "", peaks "m i; m i")."""
    out = []
    for name, formula, key, smiles, peaks in records:
        pairs = [p.split() for p in peaks.split(";")]
        out += [f"Name: {name}", f"Formula: {formula}"] + ([f"InChIKey: {key}"] if key else []) + (
            [f"SMILES: {smiles}"] if smiles else []) + ["Spectrum_type: MS1", "Ion_mode: P", f"Num Peaks: {len(pairs)}", *(f"{m} {i}" for m, i in pairs), ""]
    return "\n".join(out)


#: Three records of methyl octanoate, one under another name without a structure (MassBank's JP001833: the library
#: build resolves its name with OPSIN); two of a compound no structure names, one with an optical descriptor; an
#: isomer of the ester, one record; a compound of one record.
ESTER, BLANK = "CCCCCCCC(=O)OC", ""
RECORDS = [
    ("METHYL CAPRYLATE", "C9H18O2", "JGHZJRVDZXSNKQ-UHFFFAOYSA-N", ESTER, "74 100; 87 60; 127 20; 158 5"),
    ("OCTANOIC ACID METHYL ESTER", "C9H18O2", "", BLANK, "74 100; 87 62; 127 18; 158 4"),
    ("Methyl octanoate", "C9H18O2", "JGHZJRVDZXSNKQ-UHFFFAOYSA-N", ESTER, "74 100; 87 58; 88 40; 127 21; 158 5"),
    ("Wide51 compound", "C10H16O", "", BLANK, "55 100; 67 40; 81 30; 152 8"),
    ("(+)-Wide51 compound", "C10H16O", "", BLANK, "55 100; 67 42; 81 28; 152 7"),
    ("Ethyl heptanoate", "C9H18O2", "TVQGDYNRXLTQAP-UHFFFAOYSA-N", "CCCCCCC(=O)OCC", "74 50; 87 30; 88 100; 101 50; 158 3"),
    ("Naphthalene", "C10H8", "UFWIBTONFRDIAS-UHFFFAOYSA-N", "c1ccc2ccccc2c1", "128 100; 102 8; 64 5"),
]


@pytest.fixture(scope="module")
def six_records(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from nps_id.cli import cli

    folder = tmp_path_factory.mktemp("six")
    (folder / "six.msp").write_text(_msp(RECORDS), encoding="utf-8")
    built = CliRunner().invoke(cli, ["library", "build", str(folder / "six.msp"), "-o", str(folder / "six.h5")])
    assert built.exit_code == 0, built.output
    return folder / "six.h5"


def test_a_record_without_inchikey_is_its_compound_by_the_library_s_structure_else_by_its_name(six_records):
    reference, _ = bench.bn.load(six_records)
    if not reference.columns["smiles"][1]:
        pytest.skip("the build resolved no structure from the name (OPSIN needs java and py2opsin)")
    ident, paths = bench.identities(reference)
    assert ident[1] == ident[0] == "JGHZJRVDZXSNKQ"  # OCTANOIC ACID METHYL ESTER is METHYL CAPRYLATE, by OPSIN
    assert ident[3] == ident[4] == "name:wide51 compound"  # no structure: the name, its optical descriptor dropped
    assert paths == {"InChIKey": 4, "the library's structure": 1, "name": 2}
    owns = bench.owned(np.arange(7), reference, ident)
    assert owns[1] == owns[0] == frozenset({"JGHZJRVDZXSNKQ"}) and ident[5] not in owns[1]  # an isomer stays
    assert owns[4] == frozenset({"name:wide51 compound"})


def test_the_bench_leaves_out_a_compound_under_every_name_and_finds_it_present_through_another(six_records, tmp_path):
    if not bench.bn.load(six_records)[0].columns["smiles"][1]:
        pytest.skip("the build resolved no structure from the name (OPSIN needs java and py2opsin)")
    rows = _details(six_records, tmp_path)
    lco = {r["query"]: r for r in rows if r["task"] == "lco"}
    present = {r["query"]: r for r in rows if r["task"] == "present"}
    esters = ("OCTANOIC ACID METHYL ESTER", "METHYL CAPRYLATE", "Methyl octanoate")
    for query in esters:  # before stop 51 the record without InChIKey was found as METHYL CAPRYLATE, and wrong
        assert lco[query]["top_hit"] not in esters, lco[query]
    assert lco["(+)-Wide51 compound"]["top_hit"] != "Wide51 compound"
    # present: another record is the same compound, found and judged right whatever its name
    for query, others in (("OCTANOIC ACID METHYL ESTER", esters), ("(+)-Wide51 compound", ("Wide51 compound",))):
        assert present[query]["replicate"] == "True" and present[query]["top_hit"] in others, present[query]
        assert present[query]["top_hit_right"] == "True", present[query]
    assert present["Naphthalene"]["replicate"] == "False" and present["Naphthalene"]["top_hit_right"] == "False"


def test_the_present_task_s_facts_hold_no_trace_of_the_query_record(six_records):
    reference, _ = bench.bn.load(six_records)
    facts = bench.RecordFacts(reference)
    ester, ethyl = facts.block(0), 5
    # the query's compound has another record: it stays, without the record
    view = facts.excluding(frozenset({f"{bench.RECORD}2"}))
    assert facts.rows_of_block(ester) == [0, 2] and view.rows_of_block(ester) == [0]
    assert view.name_of_block(ester) == "METHYL CAPRYLATE" and ester not in view.excluded
    assert 2 not in view.rows_of_formula("C9H18O2") and 2 in facts.rows_of_formula("C9H18O2")
    # the record is its compound's only one: the compound is gone with it, from its name and from the pairs
    naphthalene = facts.block(6)
    alone = facts.excluding(frozenset({f"{bench.RECORD}6"}))
    assert facts.name_of_block(naphthalene) == "Naphthalene" and alone.name_of_block(naphthalene) is None
    # the library's own pairs of the formula are made again without the record
    pairs = facts.ei_pairs(ethyl, 0)
    assert pairs[ester][0] == 2  # Methyl octanoate's record matches ethyl heptanoate's best ...
    assert view.ei_pairs(ethyl, 0)[ester][0] == 0  # ... left out, METHYL CAPRYLATE's is the pair
    assert view.ei_pairs(ethyl, 0)[ester][1] < pairs[ester][1]
    assert facts.ei_pairs(ethyl, 0) == pairs  # the shared cache untouched
