"""``nps-id search`` through click's CliRunner: the column contract, formats, errors."""
from __future__ import annotations

import csv
import io
import itertools
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.io import read, write
from tests.conftest import data_path

MSPEPSEARCH = ["Unknown", "Rank", "Id", "Name", "MF", "R.Match", "Formula", "InChIKey", "DeltaMass"]
CONTRACT = ["query", "query_name", "rank", "library_id", "name", "inchikey", "formula", "score", "mf", "rmf",
            "delta_mass", "isomer_alert", "gap"]


@pytest.fixture(scope="module")
def queries(tmp_path_factory):
    """Three SWGDRUG spectra re-measured with m/z jitter, as an MSP file."""
    spectra = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))
    rng = np.random.default_rng(3)
    picked = [spectra[i] for i in (2, 500, 1433)]
    noisy = [s.replace(mz=s.mz + rng.uniform(-0.2, 0.2, len(s)), source_id=None) for s in picked]
    path = tmp_path_factory.mktemp("q") / "unknowns.msp"
    write(noisy, path)
    return path, picked


_CACHE: dict[str, str] = {}


@pytest.fixture(autouse=True, scope="module")
def private_cache(tmp_path_factory):
    """Index cache in a temporary folder, never the user's."""
    _CACHE["NPS_ID_CACHE"] = str(tmp_path_factory.mktemp("cache"))


def _run(*args):
    return CliRunner().invoke(cli, ["search", *map(str, args)], env=dict(_CACHE))


def test_tsv_uses_mspepsearch_columns_and_finds_each_query(swgdrug_library, queries, tmp_path):
    path, picked = queries
    out = tmp_path / "hits.tsv"
    result = _run(path, "--library", swgdrug_library, "--top", 3, "-o", out)
    assert result.exit_code == 0, result.output
    # The library stores its index (built by `library build`): the search built none to cache.
    assert not list(Path(_CACHE["NPS_ID_CACHE"]).rglob("index-*"))
    rows = list(csv.DictReader(out.open(encoding="utf-8"), delimiter="\t"))
    assert all(col in rows[0] for col in MSPEPSEARCH)
    assert len(rows) == 3 * 3
    firsts = [r for r in rows if r["Rank"] == "1"]
    assert [r["Id"] for r in firsts] == [s.get("source_id") for s in picked]
    assert [r["Name"] for r in firsts] == [s.name for s in picked]
    assert all(700 <= int(r["MF"]) <= 999 and r["R.Match"] for r in firsts)
    assert [r["Query"] for r in firsts] == ["0", "1", "2"]


def test_jsonl_and_csv_carry_the_machine_contract(swgdrug_library, queries):
    path, picked = queries
    result = _run(path, "-l", swgdrug_library, "--top", 2, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 6 and all(set(CONTRACT) <= set(r) for r in records)
    assert [r["rank"] for r in records] == [1, 2] * 3
    assert all(0 <= r["score"] <= 1 and 0 <= r["mf"] <= 999 for r in records)
    assert records[0]["delta_mass"] is None  # identity mode: no mass shift
    result = _run(path, "-l", swgdrug_library, "--top", 1, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert set(CONTRACT) <= set(rows[0]) and len(rows) == 3


def test_analog_mode_reports_molecular_ion_shift(swgdrug_library, queries):
    path, _ = queries
    result = _run(path, "-l", swgdrug_library, "--mode", "analog", "--top", 5, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 15
    assert all(isinstance(r["delta_mass"], float) for r in records)
    assert any(r["delta_mass"] != 0 for r in records)


def test_missing_library_exits_4_and_bad_queries_exit_3(tmp_path, swgdrug_library):
    bad = tmp_path / "bad.msp"
    bad.write_text("Name: x\nNum Peaks: 2\n10 abc\n")
    result = _run(bad, "-l", tmp_path / "nope.h5")
    assert result.exit_code == 4 and "no library" in result.output
    result = _run(bad, "-l", swgdrug_library)
    assert result.exit_code == 3, result.output


def test_score_unavailable_in_mode_is_a_usage_error(swgdrug_library, queries):
    path, _ = queries
    result = _run(path, "-l", swgdrug_library, "--mode", "analog", "--score", "reverse")
    assert result.exit_code == 2 and "not available in analog mode" in result.output


def test_ei_noise_floor_drops_small_peaks_without_losing_the_self_hit(swgdrug_library, tmp_path):
    """--ei-noise reaches the engine: the scores change, SWGDRUG spectra still find themselves."""
    from nps_id.io import write
    from nps_id.library import Library

    with Library.open(swgdrug_library) as lib:
        queries = [lib.spectrum(i) for i in range(0, lib.n_spectra, 300)]
    path = tmp_path / "q.msp"
    write(queries, path)

    def rows(*extra):
        result = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--top", "2",
                                          "--format", "jsonl", *extra])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.output.splitlines()]

    plain, floored = rows("--ei-noise", "0"), rows()  # the default floor is 0.01
    firsts = [r for r in floored if r["rank"] == 1]
    assert [r["name"] for r in firsts] == [q.name for q in queries]
    assert {r["mf"] for r in firsts} == {999}
    seconds = [(r["mf"] for r in rows_ if r["rank"] == 2) for rows_ in (plain, floored)]
    assert list(seconds[0]) != list(seconds[1])  # the runner-ups' scores see the floor


def test_analog_mode_names_modifications_and_mass_prior_can_be_switched_off(swgdrug_library, queries):
    path, _ = queries
    with_prior = _run(path, "-l", swgdrug_library, "--mode", "analog", "--top", 10, "--format", "jsonl")
    without = _run(path, "-l", swgdrug_library, "--mode", "analog", "--top", 10, "--format", "jsonl",
                   "--no-mass-prior")
    assert with_prior.exit_code == 0 and without.exit_code == 0, with_prior.output + without.output
    a = [json.loads(line) for line in with_prior.output.splitlines()]
    b = [json.loads(line) for line in without.output.splitlines()]
    assert all(r["score"] == r["similarity"] for r in b)
    named = [r for r in a if r["delta_mass_match"]]
    assert named, "SWGDRUG analogues of SWGDRUG queries include homologues and isomers"
    for r in a:  # the documented analogue score: +0.05 if named, -0.01 per 100 Da, over 1.05
        bonus = 0.05 if r["delta_mass_match"] else 0.0
        expected = max(r["similarity"] + bonus - 0.01 * abs(r["delta_mass"]) / 100, 0.0) / 1.05
        assert r["score"] == pytest.approx(expected, abs=2e-4)
    tsv = _run(path, "-l", swgdrug_library, "--mode", "analog", "--top", 1)
    assert tsv.output.splitlines()[0].split("\t")[-12:] == [
        "Similarity", "DeltaMassMatch", "SMILES", "StructureSource", "StereoNote",
        "Verdict", "VerdictRule", "NewSubstance", "SuspectedGroup", "EstimatedMass", "AnalogueConfidence",
        "SuspectedGroupProbability"]


def test_analog_rows_mf_is_the_unshifted_match_factor_and_the_help_says_so(swgdrug_library, queries):
    """An analogue row shows Score 0.8 beside MF 150: MF / R.Match are the pair's plain match factors
    (identity mode's numbers), Score the analogue score, Similarity the shifted-fragment score."""
    path, _ = queries
    rows = {}
    for mode in ("identity", "analog"):
        result = _run(path, "-l", swgdrug_library, "--mode", mode, "--top", 20, "--format", "jsonl")
        assert result.exit_code == 0, result.output
        rows[mode] = {(r["query"], r["library_id"]): r for r in map(json.loads, result.stdout.splitlines())}
    both = set(rows["identity"]) & set(rows["analog"])
    assert both
    for key in both:
        assert (rows["analog"][key]["mf"], rows["analog"][key]["rmf"]) == (rows["identity"][key]["mf"],
                                                                         rows["identity"][key]["rmf"])
    assert any(abs(r["score"] * 999 - r["mf"]) > 100 for r in rows["analog"].values())
    shown = " ".join(_run("--help").output.split())
    assert "Score (0-1) is the analogue score" in shown and "MF / R.Match (0-999) the plain EI match factors" in shown


def _apparent_molecular_ion(spectrum) -> int:
    """The documented rule, written out: the highest nominal m/z (n collects [n - 0.3, n + 0.7)) at
    >= 2 % of the spectrum's base peak."""
    bins: dict[int, float] = {}
    for mz, intensity in zip(np.floor(spectrum.mz + 0.3).astype(int), spectrum.intensity):
        bins[int(mz)] = bins.get(int(mz), 0.0) + float(intensity)
    return max(mz for mz, intensity in bins.items() if intensity >= 0.02 * max(bins.values()))


def test_delta_mass_and_estimated_mass_are_what_the_help_says(swgdrug_library, ms2_library, queries, tmp_path):
    """A new user read DeltaMass and EstimatedMass as one mass two ways: the help now says which mass
    minus which (query minus hit), and that EstimatedMass is the query's own; here the rows do what it says."""
    from nps_id.library import open_verified

    shown = " ".join(_run("--help").output.split())
    assert "DeltaMass per row, Da: the query's mass MINUS the hit's, so positive when the query is heavier" in shown
    assert "EstimatedMass per query (the same on all its rows), Da: the query's own estimated nominal" in shown
    # EI analogue: apparent molecular ion of the query minus the hit's, whole Da
    path, _ = queries
    result = _run(path, "-l", swgdrug_library, "--mode", "analog", "--top", 5, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    spectra = list(read(path))
    with open_verified(swgdrug_library) as lib:
        for r in rows:
            expected = _apparent_molecular_ion(spectra[r["query"]]) - _apparent_molecular_ion(lib.spectrum(r["library_row"]))
            assert r["delta_mass"] == expected, r
    assert any(r["delta_mass"] > 0 for r in rows) and any(r["delta_mass"] < 0 for r in rows)
    # MS/MS: query precursor minus hit precursor; the estimate is the query's precursor minus a proton
    ms2 = tmp_path / "ms2.msp"
    write(list(itertools.islice(read(data_path("massbank", "ms2-queries-analog.msp.gz")), 3)), ms2)
    result = _run(ms2, "-l", ms2_library, "--mode", "analog", "--top", 5, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    spectra = list(read(ms2))
    with open_verified(ms2_library) as lib:
        hit_precursor = lib.column("precursor_mz")
    for r in rows:
        query = spectra[r["query"]]
        assert r["delta_mass"] == pytest.approx(query.precursor_mz - hit_precursor[r["library_row"]], abs=1e-4), r
        assert query.metadata["ion_mode"] == "positive" and r["estimated_mass"] == round(query.precursor_mz - 1.00728)
    assert any(r["delta_mass"] > 1 for r in rows) and any(r["delta_mass"] < -1 for r in rows)


def test_nothing_searchable_stops_like_match_instead_of_an_empty_table(swgdrug_library, ms2_library, tmp_path):
    """A batch script must tell "no hits" from "could not search": queries the library holds no
    spectra of the kind of stop with exit 4 (as `match` does), queries that cannot be searched
    at all with exit 3; one line on stderr, no output file."""
    ei = tmp_path / "ei.msp"
    write(list(itertools.islice(read(data_path("massbank", "ei-queries-identity.msp.gz")), 3)), ei)
    ms2 = list(itertools.islice(read(data_path("massbank", "ms2-queries-analog.msp.gz")), 3))
    with_precursor, without = tmp_path / "ms2.msp", tmp_path / "ms2-no-precursor.msp"
    write(ms2, with_precursor)
    write([s.replace(precursor_mz=None) for s in ms2], without)
    for queries, library, code, why in (
            (ei, ms2_library, 4, "3 EI / full-scan spectra, and the library holds none"),
            (with_precursor, swgdrug_library, 4, "3 MS/MS spectra, and the library holds none with a precursor m/z"),
            (without, ms2_library, 3, "3 MS/MS spectra have no precursor m/z")):
        out = tmp_path / "hits.tsv"
        result = _run(queries, "-l", library, "-o", out)
        assert result.exit_code == code, result.output
        assert result.stderr.count("\n") == 1 and why in result.stderr and "nothing searched" in result.stderr
        assert not out.exists()


def test_queries_that_cannot_be_searched_beside_others_are_counted_on_stderr(swgdrug_library, tmp_path):
    ms2 = list(itertools.islice(read(data_path("massbank", "ms2-queries-analog.msp.gz")), 3))
    mixed = tmp_path / "mixed.msp"
    write(_swgdrug_spectra([500]) + ms2, mixed)
    result = _run(mixed, "-l", swgdrug_library, "--top", 1)  # an EI library
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2  # the header and the EI query's hit
    assert "3 not searched: MS/MS spectra, and the library holds none with a precursor m/z" in result.stderr


def test_ms2_queries_with_a_zero_or_negative_precursor_are_not_searched(ms2_library, tmp_path):
    """PEPMASS=0 or -183.057 was searched as a real precursor window (and counted as 'searched
    without any hit'); it is an unknown precursor, counted as such on stderr."""
    ms2 = list(itertools.islice(read(data_path("massbank", "ms2-queries-analog.msp.gz")), 3))
    good = tmp_path / "ms2.mgf"
    write(ms2, good)
    lines = good.read_text().splitlines()
    pepmass = [i for i, line in enumerate(lines) if line.startswith("PEPMASS=")]
    lines[pepmass[0]], lines[pepmass[1]] = "PEPMASS=0", "PEPMASS=-" + lines[pepmass[1]][len("PEPMASS="):]
    bad = tmp_path / "bad.mgf"
    bad.write_text("\n".join(lines) + "\n")
    result = _run(bad, "-l", ms2_library, "--top", 1, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert "2 not searched: MS/MS spectra have no precursor m/z" in result.stderr
    assert [json.loads(row)["query"] for row in result.stdout.splitlines()] == [2]


def _swgdrug_spectra(indices):
    spectra = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))
    return [spectra[i] for i in indices]


def _swgdrug_records(indices, path):
    write(_swgdrug_spectra(indices), path)
    return path


def test_top_above_the_prefilter_still_gives_top_hits(swgdrug_library, tmp_path):
    query = _swgdrug_records([500], tmp_path / "one.msp")
    result = _run(query, "-l", swgdrug_library, "--top", 300, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    ranks = [json.loads(line)["rank"] for line in result.stdout.splitlines()]
    assert ranks == list(range(1, 301))  # not cut at the 200 candidates of --prefilter


def test_lenient_names_skipped_records_and_keeps_file_positions(swgdrug_library, tmp_path):
    good = _swgdrug_records([2, 500], tmp_path / "good.msp").read_text(encoding="utf-8")
    first, second = good.split("\n\n", 1)
    path = tmp_path / "one-bad.msp"
    path.write_text(first + "\n\nName: broken\nNum Peaks: 2\n58 abc\n72 300\n\n" + second, encoding="utf-8")
    result = _run(path, "-l", swgdrug_library, "--top", 1, "--format", "jsonl", "--lenient")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["query"] for line in result.stdout.splitlines()] == [0, 2]
    assert "skipped a malformed record (line" in result.stderr and "record 2)" in result.stderr


def test_query_file_without_spectra_exits_3(swgdrug_library, tmp_path):
    empty = tmp_path / "empty.msp"
    empty.write_text("")
    chromatograms = data_path("formats", "cheminfo-mzdata-tests", "arrayChromatograms.mzML")
    for path in (empty, chromatograms):
        result = _run(path, "-l", swgdrug_library)
        assert result.exit_code == 3, result.output
        assert "no mass spectra in this file" in result.stderr and result.stdout == ""


def test_queries_searched_without_any_hit_are_counted(swgdrug_library, tmp_path):
    path = tmp_path / "odd.msp"
    path.write_text("Name: all zero\nNum Peaks: 2\n58 0\n91 0\n\n"
                    "Name: fine\nNum Peaks: 2\n58 999\n91 300\n", encoding="utf-8")
    result = _run(path, "-l", swgdrug_library, "--top", 1)
    assert result.exit_code == 0
    assert [line.split("\t")[0] for line in result.stdout.splitlines()[1:]] == ["1"]
    assert "1 query searched without any hit" in result.stderr


def test_output_onto_the_queries_or_the_library_is_refused(swgdrug_library, tmp_path):
    import shutil

    query = _swgdrug_records([2], tmp_path / "q.msp")
    library = shutil.copy(swgdrug_library, tmp_path / "lib.h5")
    before = query.read_bytes(), Path(library).read_bytes()
    for target in (query, library):
        result = _run(query, "-l", library, "-o", target)
        assert result.exit_code == 3 and "is an input of this command" in result.stderr
    assert (query.read_bytes(), Path(library).read_bytes()) == before


def test_a_query_file_cut_short_while_it_is_read_writes_no_row(swgdrug_library, tmp_path, monkeypatch):
    # a file still being copied in, or cut short mid-run, reads as a shorter file without an error: the
    # search must say so rather than write the rows of what it happened to read (attack50: exit 0, a third
    # of the rows)
    from nps_id.commands import search as search_command

    query = _swgdrug_records([2, 500, 1433], tmp_path / "q.msp")
    whole = query.read_bytes()
    read_whole = search_command._search_whole

    def cut_short_after_the_read(job):
        made = read_whole(job)
        query.write_bytes(whole[: len(whole) // 2])
        return made

    monkeypatch.setattr(search_command, "_search_whole", cut_short_after_the_read)
    out = tmp_path / "hits.tsv"
    out.write_text("previous\n", encoding="utf-8")
    for target in (out, "-"):
        query.write_bytes(whole)
        result = _run(query, "-l", swgdrug_library, "--threads", 1, "-o", target)
        assert result.exit_code == 3, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("nps-id: error:")]
        assert len(errors) == 1 and "changed while it was read" in errors[0], result.stderr
        assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == "previous\n"
    monkeypatch.setattr(search_command, "_search_whole", read_whole)  # the same file left alone: rows
    assert _run(query, "-l", swgdrug_library, "--threads", 1, "-o", out).exit_code == 0
    assert out.read_text(encoding="utf-8").count("\n") > 1


def test_output_to_a_fifo_writes_into_it_instead_of_replacing_it(swgdrug_library, tmp_path):
    import os
    import stat

    query = _swgdrug_records([2], tmp_path / "q.msp")
    fifo = tmp_path / "hits.fifo"  # stands for /dev/stdout or /dev/null in a script
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that opening it to write does not block
    try:
        result = _run(query, "-l", swgdrug_library, "--top", 1, "-o", fifo)
        received = os.read(reader, 1 << 16).decode("utf-8")
    except BlockingIOError:  # nothing was written into the FIFO
        received = ""
    finally:
        os.close(reader)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received.startswith("Query\tUnknown\tRank")



@pytest.mark.parametrize("mode", ["identity", "analog"])
def test_a_library_without_precursor_or_retention_index_writes_json_without_nan(ms2_library, mode, tmp_path):
    """NaN is the library format's "absent" for precursor m/z, retention index, exact mass and
    retention time (docs/library-format.md), and JSON has no NaN: a record without a precursor is
    outside every precursor window, so never a hit, and the hits' output is strict JSON with finite
    mass differences (stop 45: checked, nothing to change)."""
    import shutil

    import h5py

    from tests.hostile.libraries import rehash

    library = tmp_path / "no-precursor.h5"
    shutil.copyfile(ms2_library, library)
    with h5py.File(library, "r+") as h5:
        for name in ("precursor_mz", "retention_index", "exact_mass", "retention_time"):
            if f"metadata/{name}" in h5:
                values = h5[f"metadata/{name}"][()]
                values[1::2] = np.nan  # every odd row: absent
                h5[f"metadata/{name}"][...] = values
        del h5["indexes"]  # the search indexes what the file holds
    rehash(library)
    queries = tmp_path / "q.msp"
    write(list(itertools.islice(read(data_path("massbank", "ms2-queries-analog.msp.gz")), 10)), queries)
    out = tmp_path / "hits.jsonl"
    result = _run(queries, "-l", library, "--mode", mode, "--top", 5, "--format", "jsonl", "-o", out)
    assert result.exit_code == 0, result.output

    def no_constant(name: str):
        raise ValueError(f"not JSON: {name}")

    rows = [json.loads(line, parse_constant=no_constant) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["library_row"] % 2 == 0 for r in rows)  # no record without a precursor
    assert all(isinstance(r["delta_mass"], float) and np.isfinite(r["delta_mass"]) for r in rows)
    if mode == "identity":  # each query with a precursor finds its own record, one without none
        assert {r["query"] for r in rows if r["rank"] == 1 and r["library_row"] == r["query"]} == {0, 2, 4, 6, 8}

def test_tsv_is_plain_for_cut_and_awk_while_csv_and_jsonl_keep_names_exactly(swgdrug_library, tmp_path):
    spectrum = list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[2]
    odd = 'a "quoted"\tname, with comma'
    path = tmp_path / "odd.msp"
    write([spectrum.replace(name=odd)], path)
    tsv = _run(path, "-l", swgdrug_library, "--top", 1).stdout.splitlines()
    assert len(tsv) == 2 and len(tsv[1].split("\t")) == len(tsv[0].split("\t"))
    assert tsv[1].split("\t")[1] == 'a "quoted" name, with comma'  # no CSV quoting, the tab a space
    rows = list(csv.DictReader(io.StringIO(_run(path, "-l", swgdrug_library, "--top", 1, "--format", "csv").stdout)))
    assert rows[0]["query_name"] == odd
    record = json.loads(_run(path, "-l", swgdrug_library, "--top", 1, "--format", "jsonl").stdout)
    assert record["query_name"] == odd


def _per_row_writer(hits, spectra, reference, assessments, fh, fmt):
    """The writer as it was before the columnar one (a dict per row, a cell at a time): the
    oracle for the byte-for-byte test below."""
    from nps_id.commands.search import COLUMNS, JSONL_ONLY
    from nps_id.search.analogue import shift_name
    from nps_id.search.scores import to_999

    def num(value, digits):
        return round(float(value), digits) if np.isfinite(value) else None

    def tsv_cell(value):
        return "" if value is None else " ".join(str(value).replace("\r", "\n").replace("\t", "\n").split("\n"))

    columns, notes = reference.columns, reference.identity.notes
    rows = []
    for i in range(len(hits)):
        q, row = int(hits.query[i]), int(hits.row[i])
        query = spectra[q]
        record = query.get("scan_index")
        rows.append({
            "query": q if record is None else int(record),
            "query_name": query.name or query.get("source_id") or query.get("scan_id") or f"query {q}",
            "rank": int(hits.rank[i]), "library_id": columns["source_id"][row], "name": columns["name"][row],
            "inchikey": columns["inchikey"][row], "formula": columns["formula"][row],
            "score": num(hits.score[i], 4), "mf": to_999(hits.mf[i]), "rmf": to_999(hits.rmf[i]),
            "delta_mass": num(hits.delta_mass[i], 4), "gap": num(hits.gap[i], 4),
            "isomer_alert": bool(hits.isomer_alert[i]), "library_row": row, "similarity": num(hits.similarity[i], 4),
            "delta_mass_match": shift_name(int(hits.delta_shift[i]), nominal=bool(np.isfinite(hits.mf[i]))),
            "smiles": columns["smiles"][row] or None, "structure_source": columns["structure_source"][row] or None,
            "stereo_note": notes[row] or None, **assessments[q].fields(), "analogue_confidence": None,
        })
        # the contract's order: new columns at the end; JSON lines' own keys after them (held_by, stop 49)
        rows[-1] = {key: rows[-1][key] for key in (*COLUMNS, *JSONL_ONLY)}
    if fmt == "jsonl":
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "tsv":
        fh.write("\t".join(COLUMNS.values()) + "\n")
        for row in rows:
            fh.write("\t".join(tsv_cell(row[k]) for k in COLUMNS) + "\n")
    else:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(list(COLUMNS))
        for row in rows:
            writer.writerow(["" if row[k] is None else row[k] for k in COLUMNS])


@pytest.mark.parametrize("mode", ["identity", "analog"])
def test_columnar_writer_writes_the_bytes_of_the_per_row_writer(swgdrug_library, mode):
    """Real SWGDRUG hits (re-measured spectra, top 10), plus the values a writer can get wrong:
    names with a tab, a line break, quotes, a comma and non-ASCII letters, -0.0 and NaN; a worker's
    range text (its lines joined at once) the same bytes less the header."""
    import dataclasses

    from nps_id.commands.search import _range_text, _Rows, hit_columns, write_rows
    from nps_id.library import open_verified
    from nps_id.match.assess import assess_search
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.engine import SearchSettings, search
    from nps_id.search.reference import Reference

    rng = np.random.default_rng(5)
    spectra = [s.replace(mz=s.mz + rng.uniform(-0.2, 0.2, len(s)), intensity=s.intensity * rng.uniform(0.8, 1.2, len(s)))
               for s in list(read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")))[::60]]
    with open_verified(swgdrug_library) as lib:
        reference = Reference.from_library(lib)
    hits = search(spectra, reference, SearchSettings(mode=mode, top_k=10))
    assessments = assess_search(spectra, hits, reference, analog=mode == "analog", fields_only=True)
    odd = np.unique(hits.row)[:5]
    for row, name in zip(odd, ['tab\there', 'line\r\nbreak, "quoted"', "Größe α-PVP", "",
                               "back\\slash \x01\x1f\u2028 \ud800"]):  # JSON escapes, a lone surrogate
        reference.columns["name"][row] = name
    delta = hits.delta_mass.copy()
    delta[:4] = [0.0, -0.0, -1e-7, np.nan]
    gap = hits.gap.copy()
    gap[4:6] = np.nan
    hits = dataclasses.replace(hits, delta_mass=delta, gap=gap)
    # a range's text as a forked worker returns it (its rows joined at once, no header)
    rows = _Rows(spectra, hits, reference, mode == "analog", None, 10, LibraryFacts(reference))
    for fmt in ("tsv", "csv", "jsonl"):
        old, new = io.StringIO(), io.StringIO()
        _per_row_writer(hits, spectra, reference, assessments, old, fmt)
        write_rows(hit_columns(hits, spectra, reference, assessments), new, fmt)
        assert new.getvalue() == old.getvalue(), fmt
        assert new.getvalue().count("\n") > 50
        header = "" if fmt == "jsonl" else old.getvalue().partition("\n")[0] + "\n"
        assert header + _range_text((rows, fmt), (0, len(hits))) == old.getvalue(), fmt


def test_a_column_of_repeated_values_is_written_as_each_value_alone():
    """The columnar writer formats a distinct value once: values one dict key holds but that
    write differently (0.0 and -0.0, 1 and 1.0, True and 1) must still each be written as
    themselves, in JSON, TSV and CSV text."""
    from nps_id.commands.search import _column_text, _json_text, _rounded, _tsv_cell

    columns = [[0.0, -0.0, 0.5, None, 0.0, -0.0, 0.5], [1, 1.0, None, 1, 2.5], [True, 1, None, True],
               [3, None, 3, 12], [-0.0, -0.0, 0.0], ["a\tb", "a\tb", None, "Größe"]]
    for values in columns:
        for text, none in ((_json_text, "null"), (_tsv_cell, ""), (str, "")):
            expected = [none if v is None else (repr(v) if type(v) is float else text(v)) for v in values]
            assert _column_text(values, text, none) == expected, values
            assert _column_text(values, text, none, before="<", after=">") == [f"<{e}>" for e in expected]
    rounded = _rounded(np.array([0.0, -0.0, 1e-7, -1e-7, 0.123456, 0.123456, np.nan, np.inf]))
    assert list(map(repr, rounded)) == ["0.0", "-0.0", "0.0", "-0.0", "0.1235", "0.1235", "None", "None"]


def test_isomers_and_row_facts_of_hits_are_made_once_across_searches(swgdrug_library, queries, tmp_path,
                                                                     monkeypatch):
    """The RDKit work behind the verdicts (isomer enumeration, structure verification, EWA
    groups of hit rows) is kept in the cache folder: a second search needs none of it and writes
    the same bytes; a damaged cache file is rebuilt with a warning."""
    import nps_id.chem.isomers as isomers
    from nps_id.match.library_facts import LibraryFacts

    path, _ = queries
    env = {"NPS_ID_CACHE": str(tmp_path / "cache")}
    for _ in range(2):  # the first also checks the file (and keeps the peak offsets that check read)
        first = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"],
                                   env=env)
        assert first.exit_code == 0, first.output
    (cached,) = (tmp_path / "cache").glob("isomers-*.json")
    (facts,) = (tmp_path / "cache").rglob("facts-*.json")
    assert json.loads(cached.read_text()) and json.loads(facts.read_text())
    with monkeypatch.context() as m:
        m.setattr(isomers, "enumerate_isomers", lambda smiles: pytest.fail("enumerated again"))
        for made in ("_structure", "_group", "_name_of_block"):
            m.setattr(LibraryFacts, made, lambda self, row: pytest.fail("row facts made again"))
        second = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"],
                                    env=env)
    assert second.exit_code == 0, second.output
    assert second.output == first.output
    for damaged, label in ((cached, "isomer cache"), (facts, "library facts cache")):
        damaged.write_text("{not json")
        third = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"],
                                   env=env)
        assert third.exit_code == 0 and third.stdout == first.stdout
        assert label in third.stderr and "damaged" in third.stderr and json.loads(damaged.read_text())


def test_search_defaults_are_the_settings_defaults(swgdrug_library, queries, monkeypatch):
    """The options' defaults are read from SearchSettings (set once): a changed settings default
    changes what --help shows and what a search without the option runs with."""
    from dataclasses import dataclass

    from nps_id.search import settings
    from nps_id.search.settings import SearchSettings

    @dataclass(frozen=True)
    class Tuned(SearchSettings):
        top_k: int = 2
        isomer_margin: float = 0.07

    monkeypatch.setattr(settings, "SearchSettings", Tuned)
    runner = CliRunner()
    help_text = runner.invoke(cli, ["search", "--help"]).output
    assert "[default: 2;" in help_text and "[default: 0.07;" in help_text
    path, _ = queries
    result = runner.invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "csv"])
    assert result.exit_code == 0, result.output
    ranks = [row["rank"] for row in csv.DictReader(io.StringIO(result.output))]
    assert ranks and max(map(int, ranks)) == 2


def test_an_analogue_half_a_molecule_away_is_no_close_analogue(swgdrug_library, tmp_path):
    # A new user's find: heptylhydrazine (MW 130; MassBank EI) was a "close analogue" of ADB-PINACA
    # isomer 4 (MW 344; mass difference -170, similarity 856, confidence 0.49). An analogue differs
    # by a substituent, not by half the molecule (docs/match.md: the close-analogue mass bound).
    (query,) = [s for s in read(data_path("massbank", "ei-queries-analog.msp.gz")) if s.name == "HEPTYLHYDRAZINE"]
    path = tmp_path / "heptylhydrazine.msp"
    write([query], path)
    result = _run(path, "-l", swgdrug_library, "--mode", "analog", "--top", 1, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines()]
    assert (row["name"], row["delta_mass"], round(row["similarity"] * 999)) == ("ADB-PINACA isomer 4", -170.0, 855)
    assert (row["verdict"], row["verdict_rule"]) == ("inconclusive", "below the tentative floor")
    assert row["new_substance"]  # still no library compound explains it


@pytest.mark.parametrize("mode", ["identity", "analog"])
def test_how_many_hits_are_printed_never_changes_a_querys_verdict_mass_or_group(swgdrug_library, mode):
    """A new user's find: `--top 3` (README) estimated butyryl fentanyl left out of SWGDRUG at 328
    instead of 350, because the mass estimate and the group model read only the printed hits; on
    the MassBank EI analogue queries --top 1 changed 16 estimated masses, 30 groups and a verdict
    against --top 10. --top says how many rows to print, not what the evidence is."""
    answers = []
    for top in (1, 10):
        result = _run(data_path("massbank", "ei-queries-analog.msp.gz"), "-l", swgdrug_library, "--mode", mode,
                      "--top", top, "--format", "jsonl")
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert max(row["rank"] for row in rows) == top
        answers.append({row["query"]: (row["verdict"], row["verdict_rule"], row["new_substance"],
                                       row["estimated_mass"], row["suspected_group"])
                        for row in rows if row["rank"] == 1})
    assert answers[0] == answers[1]


def _modules_of_a_search_process(path: Path, library: Path) -> tuple[str, str]:
    """(the JSON lines, the modules of :data:`_NOT_LOADED` it loaded) of ``nps-id search PATH -l LIBRARY``
    run as its own process."""
    code = (
        "import sys\n"
        "from nps_id.cli import main\n"
        f"sys.argv = ['nps-id', 'search', {str(path)!r}, '-l', {str(library)!r}, '--format', 'jsonl']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print('LOADED', sorted(m for m in {_NOT_LOADED!r} if m in sys.modules))\n"
    )
    env = {**os.environ, **_CACHE}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    rows, loaded = out.split("LOADED ")
    return rows, loaded.strip()


#: Modules a search of a few identity queries never loads: numba, scipy.linalg, RDKit and what it
#: does not do (below); numpy.ma (np.unique's check for masked arrays imports it, ~6 ms) and
#: numpy.char (~5 ms), ~5 % of a one-spectrum search's CPU with the analogue confidence's module.
_NOT_LOADED = ('scipy.linalg', 'rdkit', 'numba', 'importlib.metadata', 'multiprocessing', 'nps_id.library.structure_variants',
               'nps_id.lcms.groups', 'numpy.ma', 'numpy.char', 'nps_id.search.analogue_confidence')


def test_a_search_process_loads_no_module_it_does_not_use(swgdrug_library, ms2_library, queries, tmp_path):
    """Start-up of a few-spectrum search: no numba (its NumPy kernels, ~0.4 s CPU less), no
    scipy.linalg, and once the cache folder holds the hits' isomers, structure shapes and injector
    relatives, no RDKit (~0.06 s CPU), nor importlib.metadata for RDKit's version in the cache keys
    (~0.02 s), nor multiprocessing (the verdict columns' workers are for 1,000 queries and more),
    nor the modules of what it does not do (name a derivative, group LC-MS spectra: their classes
    and regular expressions; an analogue search's confidence), nor numpy.ma and numpy.char, with the
    same rows as the search in this process: three EI queries, and an MS/MS one."""
    path, _ = queries
    ms2 = tmp_path / "one.msp"
    ms2.write_text(_plain("ms2-queries-analog.msp.gz", tmp_path).read_text(encoding="utf-8").split("\n\n")[7] + "\n",
                   encoding="utf-8")
    for source, library in ((path, swgdrug_library), (ms2, ms2_library)):
        rows_here = _run(source, "-l", library, "--format", "jsonl").stdout  # the caches are filled
        rows, loaded = _modules_of_a_search_process(source, library)
        assert loaded == "[]"
        assert rows == rows_here and rows.count("\n") >= 2
    assert '"verdict_rule": "isomer not excluded' in _run(path, "-l", swgdrug_library, "--format", "jsonl").stdout


def test_a_search_naming_a_group_of_no_haloacyl_derivative_loads_no_rdkit(swgdrug_library, tmp_path):
    """The haloacyl check (stop 43) parsed the group's closest compound with RDKit in every process: a
    one-spectrum EI search naming a group -- 2-methyltryptamine, "Tryptamines", closest compounds with no
    halogen -- imported RDKit (~50 ms) with the cache folder full; a structure with fewer than three F or
    Cl holds no CX3 and is not parsed."""
    query = tmp_path / "one.msp"
    query.write_text(_plain("ei-queries-analog.msp.gz", tmp_path).read_text(encoding="utf-8").split("\n\n")[21]
                     + "\n", encoding="utf-8")
    rows_here = _run(query, "-l", swgdrug_library, "--format", "jsonl").stdout  # the caches are filled
    rows, loaded = _modules_of_a_search_process(query, swgdrug_library)
    assert '"suspected_group": "Tryptamines"' in rows and rows == rows_here
    assert "rdkit" not in loaded  # (numpy.ma is: the group model's load, group_model._depth's np.unique)


def test_a_search_reads_the_library_from_its_copies_and_a_damaged_copy_from_the_file(swgdrug_library, queries,
                                                                                    tmp_path, monkeypatch):
    """The first search keeps each dataset it reads as an uncompressed copy in the cache folder (each
    read from the file once); the next reads none from the library file (no gzip), with the same
    bytes out. A damaged copy (a flipped byte) is a warning, the dataset read from the file and
    copied again, the same bytes."""
    import shutil
    from collections import Counter

    from nps_id.library.copies import _room_for
    from nps_id.library.store import Library

    if not _room_for(tmp_path, 64 << 20):  # the copies are not made on a nearly full disk (the next test)
        pytest.skip(f"{tmp_path}'s disk has too little free space for library copies (5 % and 1 GiB kept free)")
    path, _ = queries
    env = {"NPS_ID_CACHE": str(tmp_path / "cache")}
    first = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"], env=env)
    assert first.exit_code == 0, first.output
    shutil.rmtree(tmp_path / "cache" / "copies")  # the file is verified now: no check reads it below
    from_file: list[str] = []
    read_file = Library._read_file
    monkeypatch.setattr(Library, "_read_file", lambda lib, name, *a: from_file.append(name) or read_file(lib, name, *a))
    copied = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"], env=env)
    assert copied.stdout == first.stdout and set(Counter(from_file).values()) == {1}
    copies = {p.name.split(".")[0]: p for p in (tmp_path / "cache" / "copies").glob("*/*")}
    assert {"indexes%2Fei%2Fpeak_weight", "indexes%2Fei%2Fspec_mz", "metadata%2Fname%2Fdata"} <= set(copies)
    from_file.clear()
    again = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"], env=env)
    assert again.stdout == first.stdout and from_file == []
    damaged = copies["indexes%2Fei%2Fpeak_weight"]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x40
    damaged.write_bytes(bytes(data))
    third = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"], env=env)
    assert third.exit_code == 0 and third.stdout == first.stdout
    assert "damaged" in third.stderr and "Traceback" not in third.stderr
    assert from_file == ["indexes/ei/peak_weight"]
    assert damaged.read_bytes() != bytes(data)  # copied again from the file: its CRC holds
    fourth = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"], env=env)
    assert fourth.stdout == first.stdout and "damaged" not in fourth.stderr and from_file == ["indexes/ei/peak_weight"]


def test_top_help_names_the_hits_the_verdict_columns_read(monkeypatch):
    """--top's help says how many hits the verdict, mass and group read: EVIDENCE_HITS, not a copy."""
    import nps_id.match.assess as assess

    for hits in (assess.EVIDENCE_HITS, 37):
        monkeypatch.setattr(assess, "EVIDENCE_HITS", hits)
        help_text = " ".join(CliRunner().invoke(cli, ["search", "--help"]).output.split())
        assert f"columns read at least {hits})" in help_text


def test_ms2_library_pairs_are_made_once_per_library_file(tmp_path, monkeypatch):
    """The MS/MS library pairs behind the isomer rule (an identity search of a hit compound's
    records among its formula's others) are kept in the cache folder per library file: a second
    search makes none and writes the same bytes, and every kept value equals the computation."""
    from nps_id.library import build_library, open_verified
    from nps_id.match.library_facts import LibraryFacts
    from nps_id.search.index import build_indexes
    from nps_id.search.reference import Reference

    source = data_path("massbank", "ms2-queries-identity.msp.gz")  # 60 of its compounds have pairs
    library = tmp_path / "ms2.h5"
    build_library([source], library, name="ms2", release="1", index_builder=build_indexes)
    queries = tmp_path / "queries.msp"  # every other record: the searches take half the time
    write(itertools.islice(read(source), 0, None, 2), queries)
    command = ["search", str(queries), "-l", str(library), "--format", "jsonl"]
    env = {"NPS_ID_CACHE": str(tmp_path / "cache")}
    first = CliRunner().invoke(cli, command, env=env)
    assert first.exit_code == 0, first.output
    (pairs_file,) = (tmp_path / "cache").rglob("isomer-pairs-*.json")
    kept = json.loads(pairs_file.read_text())
    assert sum(bool(pairs) for pairs in kept.values()) >= 15
    with open_verified(library) as lib:
        facts = LibraryFacts(Reference.from_library(lib))
        row_of = {f"ms2_pairs:{facts.block(r)} {facts.formula(r)}": r for r in range(len(facts.reference.columns["name"]))}
        for key, pairs in kept.items():
            assert {block: list(pair) for block, pair in facts._ms2_pairs(row_of[key]).items()} == pairs, key
    with monkeypatch.context() as m:
        m.setattr(LibraryFacts, "_ms2_pairs", lambda self, row: pytest.fail("library pairs made again"))
        second = CliRunner().invoke(cli, command, env=env)
    assert second.exit_code == 0, second.output
    assert second.output == first.output
    for damaged in ("{not json", '{"ms2_pairs:X C2H6O": {"Y": ["1", 2]}}', '{"ms2_pairs:X C2H6O": {"Y": 5}}',
                    *(json.dumps({key: {block: [row, 500] for block in pairs} for key, pairs in kept.items()})
                      for row in (-1, 10**6)),  # rows outside the library
                    # a row of the library, the hit compound's own: its structure named as its isomer
                    json.dumps({key: {block: [row_of[key], pair[1]] for block, pair in pairs.items()} for key, pairs in kept.items()})):
        pairs_file.write_text(damaged)
        third = CliRunner().invoke(cli, command, env=env)
        assert third.exit_code == 0 and third.stdout == first.stdout
        assert "MS/MS library pairs cache" in third.stderr and "damaged" in third.stderr


def test_a_library_of_an_older_build_with_an_absurd_formula_is_searched_as_without_one(tmp_path, monkeypatch):
    """Builds before stop 25 stored 'C99999999999999999999H2' as read: a search whose hit it was
    stopped with an OverflowError traceback (its nominal mass no int64). The formula is now no
    formula wherever a mass is made of it; the hit is still listed."""
    import nps_id.library.build as build

    source = tmp_path / "old.msp"
    source.write_text("Name: huge\nFormula: C99999999999999999999H2\nNum Peaks: 3\n50 10\n91 100\n120 30\n\n"
                      "Name: ethanol\nFormula: C2H6O\nNum Peaks: 3\n45 10\n46 100\n31 50\n")
    with monkeypatch.context() as patch:  # the build as it was: no formula check
        patch.setattr(build, "_without_bad_formulas", lambda spectra, path: (spectra, None))
        build.build_library([source], tmp_path / "old.h5", name="old", release="1", names_to_structures=False,
                            defaults={"ms_level": 1})
    query = tmp_path / "q.msp"
    query.write_text("Name: q\nNum Peaks: 3\n50 10\n91 100\n120 30\n")
    result = CliRunner().invoke(cli, ["search", str(query), "-l", str(tmp_path / "old.h5"), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    (top, *_) = [json.loads(line) for line in result.stdout.splitlines()]
    assert top["name"] == "huge" and top["delta_mass"] is None


def test_an_absent_ester_is_not_identified_as_its_acyl_chain_isomer(massbank_ei_build, tmp_path):
    # A MassBank EI analogue query (its compound absent from the library): phenylethyl butyrate
    # matches phenylethyl isobutyrate at MF 937. Pairs one methyl shift apart, pooled over every
    # chain, reach that in 4 % of the library's pairs (below the 4.5 % rule: identified until stop
    # 30); pairs whose shift branches the acyl chain -- one C3H7CO+ acylium for both -- in 10 %.
    query = next(s for s in read(data_path("massbank", "ei-queries-analog.msp.gz"))
                 if s.name == "PHENYLETHYL BUTYRATE")
    path = tmp_path / "unknown.msp"
    write([query], path)
    result = _run(path, "-l", massbank_ei_build[1], "--top", 1, "--format", "jsonl")
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.output.splitlines()]
    assert row["name"] == "PHENYLETHYL ISOBUTYRATE" and row["mf"] < 950
    assert row["verdict"] == "tentative"
    assert row["verdict_rule"].startswith("isomer not excluded")
    # of a flavour ester no NPS rule places, the isomer is no early-warning lead: the rule ended "it may
    # be a new substance" until stop 37, which the reports gave such a hit's isomers no more (rule_text)
    assert row["suspected_group"] is None and "; it may be a compound not in the library; " in row["verdict_rule"]
    assert "new substance" not in row["verdict_rule"]


def test_a_search_on_a_nearly_full_disk_makes_no_library_copies(swgdrug_library, queries, tmp_path, monkeypatch):
    """The copies only save time: on a disk they would leave with less than 5 % (or 1 GiB) free they
    are not made -- one warning, the same rows -- so a search never takes the room its results and
    the reports after it need (they took it until the disk was full, up to ~3x the library)."""
    import collections
    import shutil

    import nps_id.library.copies as copies

    path, _ = queries
    env = {"NPS_ID_CACHE": str(tmp_path / "cache")}
    args = ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"]
    plain = CliRunner().invoke(cli, args, env=env)  # checks the file, makes the copies
    shutil.rmtree(tmp_path / "cache" / "copies")
    disk = collections.namedtuple("disk", "f_blocks f_bavail f_frsize")
    monkeypatch.setattr(copies.os, "statvfs", lambda _: disk(1 << 20, 1 << 16, 4096))  # 4 GiB, 256 MiB free
    full = CliRunner().invoke(cli, args, env=env)
    assert full.exit_code == 0 and full.stdout == plain.stdout
    assert full.stderr.count("not written: its disk is nearly full") == 1
    # no copy (the folder's empty .in-use lock file, which marks it in use, the row facts' save lock
    # (.facts-KEY.json.lock), and the library's derived files -- compound identity, row facts, and since stop 45
    # the EI library pairs of its identified hits (isomer-pairs-*.json since stop 46) -- are no copies)
    assert not [p for p in (tmp_path / "cache").glob("copies/*/*") if copies.is_copy(p.name)]
    assert {p.name.split("-")[0] for p in (tmp_path / "cache").glob("copies/*/*")
            if p.name != copies.IN_USE and not p.name.endswith(".lock")} == {"identity", "facts", "isomer"}


def test_a_cache_folder_on_a_file_system_without_size_is_not_called_full(swgdrug_library, queries):
    """NPS_ID_CACHE under /proc (statvfs: 0 blocks) warned "its disk is nearly full" (attack39): the
    warning names the write's own failure; the output is the same. (The copies' "nearly full" is said
    on its own; their failure to write is said once with every cache under the folder, stop 40.)"""
    if not Path("/proc/self").exists():
        pytest.skip("no /proc file system here")
    path, _ = queries
    args = ["search", str(path), "-l", str(swgdrug_library), "--format", "jsonl"]
    run = CliRunner().invoke(cli, args, env={"NPS_ID_CACHE": "/proc/nps-id-cache"})
    assert run.exit_code == 0 and run.stdout
    assert "nearly full" not in run.stderr
    (said,) = run.stderr.splitlines()
    assert " not written (" in said and "other caches under /proc/nps-id-cache not written are not said" in said


def test_an_ei_analogue_of_the_querys_own_molecular_mass_reads_isomer_not_an_atom_swap(swgdrug_library, tmp_path):
    # p-mentha-1(7),8-diene against d-limonene, both C10H16: their apparent molecular ions (highest m/z
    # >= 2 %) differ by 1, which read "N for CH" -- an atom swap between two compounds of one formula
    (query,) = [s for s in read(data_path("massbank", "ei-queries-analog.msp.gz"))
                if s.name == "PARA-MENTA-1(7),8-DIENE"]
    path = tmp_path / "mentha.msp"
    write([query], path)
    result = _run(path, "-l", swgdrug_library, "--mode", "analog", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    limonene = next(r for r in rows if r["name"] == "d-Limonene")
    assert limonene["formula"] == "C10H16" and limonene["estimated_mass"] == 136
    assert limonene["delta_mass"] == -1.0 and limonene["delta_mass_match"] == "isomer"
    # a hit of another molecular mass keeps the apparent ions' reading
    assert any(r["delta_mass_match"] not in (None, "isomer") for r in rows)


def test_an_ei_analogue_at_a_wrong_estimated_mass_keeps_its_apparent_difference(massbank_ei_build, tmp_path):
    # propyl heptanoate (172) is estimated 186, propyl octanoate's mass: the apparent molecular ions
    # differ by -14, so "isomer" beside that delta would contradict it -- it stays "CH2" (attack34)
    (query,) = [s for s in read(data_path("massbank", "ei-queries-analog.msp.gz")) if s.name == "PROPYL HEPTANOATE"]
    path = tmp_path / "heptanoate.msp"
    write([query], path)
    result = _run(path, "-l", massbank_ei_build[1], "--mode", "analog", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    octanoate = next(r for r in rows if "octanoate" in r["name"].lower() and r["formula"] == "C11H22O2")
    assert octanoate["estimated_mass"] == 186 and octanoate["delta_mass"] == -14.0
    assert octanoate["delta_mass_match"] == "CH2"


def _spy_on_workers(monkeypatch) -> list[set[int]]:
    """Record, per call of ``forked_map`` by the search command, the process ids that made its
    ranges' rows (the command's ranges are made in the workers, the first in the command itself)."""
    from nps_id import _workers

    real, calls = _workers.forked_map, []

    def spy(function, shared, tasks, workers, what="the work"):
        # fork shares the function with the workers, so a closure is fine here
        made = real(lambda s, task: (os.getpid(), function(s, task)), shared, tasks, workers, what)
        calls.append({pid for pid, _ in made})
        return [text for _, text in made]

    monkeypatch.setattr(_workers, "forked_map", spy)
    return calls


#: The real MassBank query files of the tests of forked workers: file and options.
_WORKLOADS = {"ei": ("ei-queries-identity.msp.gz", ()), "ei analog": ("ei-queries-analog.msp.gz", ("--mode", "analog")),
              "ms2": ("ms2-queries-analog.msp.gz", ())}
#: Queries of a file written as mzML for those tests: the first 300 of the 967 EI identity queries (the
#: whole file until stop 48: its mzML written and read five times was most of the suite's slowest search
#: test; 300 still make the command's first range and four on the workers, hundreds of rows each format).
_MZML_QUERIES = 300


def _split_small(monkeypatch) -> list[set[int]]:
    """The search's thresholds lowered so that these files are split into ranges (4 ranges after
    the command's first 15 queries with 2 workers); :func:`_spy_on_workers`."""
    from nps_id.commands import search as command

    monkeypatch.setattr(command, "FORK_FROM_QUERIES", 40)
    monkeypatch.setattr(command, "FIRST_RANGE_QUERIES", 15)
    return _spy_on_workers(monkeypatch)


@pytest.mark.parametrize("workload", _WORKLOADS)
def test_rows_made_on_forked_workers_are_the_bytes_of_one_process(swgdrug_library, ms2_library, workload,
                                                                  monkeypatch, tmp_path):
    """Real MassBank queries: the first 300 EI identity queries against SWGDRUG 3.4, the 150 EI analogue
    queries in analog mode, the 200 MS/MS analogue queries against the library made of them, as
    mzML (read whole by the command, the verdict columns and rows made by the workers); JSON lines
    and TSV (EI: CSV too, and 3 workers) written by forked workers are the bytes of ``--threads 1``
    (the search's thresholds lowered so that these files are split into ranges)."""
    calls = _split_small(monkeypatch)
    queries, extra = _WORKLOADS[workload]
    library = ms2_library if workload == "ms2" else swgdrug_library
    source = _as_mzml(queries, tmp_path, _MZML_QUERIES)
    runs = [("jsonl", (1, 2)), ("tsv", (1, 2))] + [("csv", (1, 3))] * (workload == "ei")
    for fmt, threads in runs:
        outputs = []
        for n in threads:
            out = tmp_path / f"{n}.{fmt}"
            result = _run(source, "--library", library, "--format", fmt, "--threads", n, "-o", out, *extra)
            assert result.exit_code == 0, result.output
            outputs.append(out.read_bytes())
        assert outputs[1] == outputs[0], fmt
        assert outputs[0].count(b"\n") > 100
    # --threads 1 made its rows in this process; 2 and 3 on workers, other processes than this one
    assert len(calls) == len(runs) and all(calls) and not any(os.getpid() in pids for pids in calls)


def _reads_here(monkeypatch, reader) -> list[int]:
    """The ``scan_index`` of every record the reader module ``reader`` reads in this process, as it
    reads them (a forked worker counts in its own copy)."""
    read_here, real_read = [], reader._read

    def counted(*args):
        for spectrum in real_read(*args):
            read_here.append(spectrum.get("scan_index"))
            yield spectrum

    monkeypatch.setattr(reader, "_read", counted)
    return read_here


def _as_mzml(name: str, folder: Path, limit: int | None = None) -> Path:
    """A MassBank query file of ../shared/data written as mzML (a format the command reads whole): its
    first ``limit`` records, or all."""
    path = folder / name.replace(".msp.gz", ".mzML")
    with warnings.catch_warnings():  # psims: "Precursor element with missing activation information"
        warnings.simplefilter("ignore", UserWarning)
        write(itertools.islice(read(data_path("massbank", name)), limit), path)
    return path


def _as_mgf(name: str, folder: Path) -> Path:
    """A MassBank query file of ../shared/data written as MGF."""
    path = folder / name.replace(".msp.gz", ".mgf")
    write(read(data_path("massbank", name)), path)
    return path


def _plain(name: str, folder: Path) -> Path:
    """A MassBank query file of ../shared/data unzipped."""
    import gzip

    path = folder / name.removesuffix(".gz")
    path.write_bytes(gzip.decompress(data_path("massbank", name).read_bytes()))
    return path


@pytest.mark.parametrize("workload", _WORKLOADS)
def test_a_query_file_read_and_searched_in_ranges_on_workers_gives_the_bytes_of_one_process(
        swgdrug_library, ms2_library, workload, monkeypatch, tmp_path):
    """The real MassBank queries of the test above as plain MSP files: each worker reads its own
    bytes of the file, searches them and makes their rows (the command the first range); JSON lines
    and TSV (EI: CSV too, with 3 workers) are the bytes of ``--threads 1``, and so are the notes on
    stderr."""
    from nps_id.io import msp

    calls = _split_small(monkeypatch)
    name, extra = _WORKLOADS[workload]
    library = ms2_library if workload == "ms2" else swgdrug_library
    read_here = _reads_here(monkeypatch, msp)
    source = _plain(name, tmp_path)
    formats = [("jsonl", 2), ("tsv", 2)] + [("csv", 3)] * (workload == "ei")
    for fmt, workers in formats:
        runs, reads = [], []
        for n in (1, workers):
            read_here.clear()
            runs.append(_run(source, "--library", library, "--format", fmt, "--threads", n, *extra))
            reads.append(list(read_here))
        assert [r.exit_code for r in runs] == [0, 0], runs[1].output
        # one process reads every record; with workers the command reads only its first range's
        assert len(reads[0]) > 100 and reads[1] == list(range(15))
        assert runs[1].stdout == runs[0].stdout and runs[1].stderr == runs[0].stderr, fmt
        assert runs[0].stdout.count("\n") > 100
    # each run's ranges after the first on the workers (never in this process)
    assert len(calls) == len(formats) and all(calls) and not any(os.getpid() in pids for pids in calls)


@pytest.mark.parametrize("ahead", ["every range read ahead", "no temporary folder to read ahead into"])
def test_ranges_read_ahead_or_not_give_the_bytes_of_one_process(swgdrug_library, ms2_library, ahead,
                                                                monkeypatch, tmp_path):
    """The workers' ranges are read meanwhile by a process forked when the command starts: the 200
    MS/MS analogue queries, and the 967 EI identity queries with two damaged records in two ranges
    (--lenient: their notes on stderr), give the rows and notes of ``--threads 1`` whether that
    process has read every range when the workers start (they read no record themselves) or cannot
    write what it reads (a temporary folder that is not there: the workers read every record of
    theirs); when the workers start the process begins no other range (the cores are theirs) but
    finishes the one it is reading (not read twice, stop 50), and is reaped with the command."""
    import tempfile

    from nps_id import _workers
    from nps_id.commands import search as command
    from nps_id.io import msp

    monkeypatch.setattr(command, "FORK_FROM_QUERIES", 40)
    monkeypatch.setattr(command, "FIRST_RANGE_QUERIES", 15)
    monkeypatch.setattr(_workers.os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # a core free, whatever this machine's load
    if ahead != "every range read ahead":
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "not there"))
    read_here, real_map, real_finish, seen = (_reads_here(monkeypatch, msp), _workers.forked_map,
                                              _workers.Ahead.finish_current, [])

    def finish_current(self):  # when the workers start: let it read every range first
        if self.pid and not seen:
            seen.append(self.pid)
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)  # done, not reaped
        real_finish(self)

    def forked_map(function, shared, tasks, workers, what="the work"):
        if not seen:
            seen.append(0)

        def counted(s, task):
            start = len(read_here)
            return function(s, task), len(read_here) - start
        made = real_map(counted, shared, tasks, workers, what)
        seen.append(sum(n for _, n in made))
        return [done for done, _ in made]

    monkeypatch.setattr(_workers, "forked_map", forked_map)
    monkeypatch.setattr(_workers.Ahead, "finish_current", finish_current)
    ms2 = _plain("ms2-queries-analog.msp.gz", tmp_path)
    records = _plain("ei-queries-identity.msp.gz", tmp_path).read_text(encoding="utf-8").split("\n\n")
    for k in (500, 800):
        head, peaks = records[k].split("Num Peaks:")
        records[k] = head + "Num Peaks:" + peaks.replace("\n", "\n12 abc\n", 1)
    damaged = tmp_path / "damaged.msp"
    damaged.write_text("\n\n".join(records), encoding="utf-8")
    for source, library, extra in ((ms2, ms2_library, ()), (damaged, swgdrug_library, ("--lenient",))):
        seen.clear()
        runs = [_run(source, "-l", library, "--threads", n, "--format", "jsonl", *extra) for n in (1, 2)]
        assert [r.exit_code for r in runs] == [0, 0], runs[1].output
        assert runs[1].stdout == runs[0].stdout and runs[1].stderr == runs[0].stderr
        assert runs[0].stdout.count("\n") > 100
        pid, read_by_workers = seen
        assert read_by_workers == (0 if ahead == "every range read ahead" else (185 if source == ms2 else 950))
        assert bool(pid) == (ahead == "every range read ahead")
        if pid:
            with pytest.raises(ChildProcessError):  # ended and reaped with the command
                os.waitpid(pid, os.WNOHANG)
    assert "record 501)" in runs[0].stderr and "record 801)" in runs[0].stderr


def test_what_was_read_ahead_is_freed_before_the_output_is_written(ms2_library, monkeypatch, tmp_path):
    """The read-ahead's temporary file (the MS/MS x10 queries write 12 MB) holds no room on its
    disk once the workers are done: an output on the same small disk, which fits alone, fits
    (until stop 40's attack it was freed only when the command ended, after the output)."""
    from nps_id import _workers
    from nps_id.commands import search as command

    monkeypatch.setattr(command, "FORK_FROM_QUERIES", 40)
    monkeypatch.setattr(command, "FIRST_RANGE_QUERIES", 15)
    monkeypatch.setattr(_workers.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    made, real_init, real_write, open_at_write = [], _workers.Ahead.__init__, command._write, []

    def init(self, *args):
        real_init(self, *args)
        made.append(self)

    def write(*args):
        open_at_write.extend(ahead for ahead in made if ahead.pid == 0 and not ahead.file.closed)
        return real_write(*args)

    monkeypatch.setattr(_workers.Ahead, "__init__", init)
    monkeypatch.setattr(command, "_write", write)
    result = _run(_plain("ms2-queries-analog.msp.gz", tmp_path), "-l", ms2_library, "-o", tmp_path / "out.tsv")
    assert result.exit_code == 0, result.output
    assert len(made) == 1 and hasattr(made[0], "file"), "the file was read ahead"
    assert open_at_write == [] and made[0].file.closed


def _reads_as_one_process(damaged: Path, library: Path, error: str) -> None:
    """Records 501 and 801 of ``damaged`` bad, in two workers' ranges: ``error`` (the first one's,
    one line, exit 3) as one process tells it, the previous output kept; --lenient: the same notes
    and rows as one process."""
    out = damaged.parent / "hits.tsv"
    out.write_text("the previous search\n")
    strict = [_run(damaged, "-l", library, "--threads", n, "-o", out) for n in (1, 2)]
    assert [r.exit_code for r in strict] == [3, 3]
    assert strict[1].stderr == strict[0].stderr and len(strict[0].stderr.splitlines()) == 1
    assert error in strict[0].stderr, strict[0].stderr
    assert out.read_text() == "the previous search\n"
    lenient = [_run(damaged, "-l", library, "--threads", n, "--lenient", "--format", "jsonl") for n in (1, 2)]
    assert [r.exit_code for r in lenient] == [0, 0]
    assert lenient[1].stdout == lenient[0].stdout and lenient[1].stderr == lenient[0].stderr
    assert "record 501)" in lenient[0].stderr and "record 801)" in lenient[0].stderr


def test_a_damaged_record_in_a_later_range_reads_as_in_one_process(swgdrug_library, monkeypatch, tmp_path):
    """Bad peak lines in two records read by different workers: the error names the first one's line
    and record as one process does (exit 3, one line, the previous output kept); --lenient skips
    both with the same notes and rows; a record whose Name line a worker's cut cannot see
    ('NAME:') makes the command read the whole file itself, with the same rows."""
    calls = _split_small(monkeypatch)
    records = _plain("ei-queries-identity.msp.gz", tmp_path).read_text(encoding="utf-8").split("\n\n")
    for k in (500, 800):  # ranges of ~240 records after the first 15
        head, peaks = records[k].split("Num Peaks:")
        records[k] = head + "Num Peaks:" + peaks.replace("\n", "\n12 abc\n", 1)
    damaged = tmp_path / "damaged.msp"
    damaged.write_text("\n\n".join(records), encoding="utf-8")
    # the line after Num Peaks: the lines of the records before, the blank line, then the record's own
    line = "\n\n".join(records[:500]).count("\n") + 2 + records[500].split("Num Peaks:")[0].count("\n") + 2
    _reads_as_one_process(damaged, swgdrug_library,
                          f"damaged.msp, line {line}, record 501: peak line with a value that is not a number")
    assert len(calls) == 2  # the strict run's workers read too: the first error in the file is raised
    records[300] = records[300].replace("Name:", "NAME:", 1)
    uncounted = tmp_path / "uncounted.msp"
    uncounted.write_text("\n\n".join(records[:400]), encoding="utf-8")
    runs = [_run(uncounted, "-l", swgdrug_library, "--threads", n, "--format", "jsonl") for n in (1, 2)]
    assert runs[1].stdout == runs[0].stdout and runs[0].exit_code == runs[1].exit_code == 0
    assert runs[0].stdout.count("\n") > 100


def _mgf_text(name: str, folder: Path) -> str:
    """A MassBank query file of ../shared/data as MGF text."""
    return _as_mgf(name, folder).read_text(encoding="utf-8")


def test_an_mgf_query_file_read_and_searched_in_ranges_gives_the_bytes_of_one_process(
        ms2_library, monkeypatch, tmp_path):
    """The 200 MS/MS analogue queries (all positive ions) as MGF, every other block's IONMODE line
    taken out and one global ``IONMODE=negative`` line put before the first block (which the
    workers' ranges must carry: a negative query has no hit in this positive library), CRLF line
    ends, plain and gzipped: each worker reads, searches and makes the rows of its own bytes (the
    command only the first 15 blocks); rows and notes are the bytes of ``--threads 1`` and the rows
    those of the file with ``IONMODE=negative`` in those blocks. The global line between blocks 100
    and 101 instead (the blocks before with their own), which a later range's cut does not see: the
    command reads the file whole, with the same rows."""
    import gzip

    from nps_id.io import mgf

    calls = _split_small(monkeypatch)
    read_here = _reads_here(monkeypatch, mgf)
    blocks = _mgf_text("ms2-queries-analog.msp.gz", tmp_path).split("BEGIN IONS\n")[1:]
    assert len(blocks) == 200 and all("IONMODE=positive\n" in b for b in blocks)
    negative = [b.replace("IONMODE=positive\n", "" if k % 2 else "IONMODE=negative\n") for k, b in enumerate(blocks)]
    each = tmp_path / "each.mgf"
    each.write_text("".join("BEGIN IONS\n" + b for b in negative), encoding="utf-8")
    blocks = [b.replace("IONMODE=positive\n", "") if k % 2 == 0 else b for k, b in enumerate(blocks)]
    plain, zipped, between = tmp_path / "global.mgf", tmp_path / "global.mgf.gz", tmp_path / "between.mgf"
    plain.write_bytes("".join(["IONMODE=negative\n\n", *("BEGIN IONS\n" + b for b in blocks)])
                      .replace("\n", "\r\n").encode("utf-8"))
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    between.write_text("".join([*("BEGIN IONS\n" + b for b in negative[:100]), "IONMODE=negative\n",
                                *("BEGIN IONS\n" + b for b in blocks[100:])]), encoding="utf-8")
    expected = _run(each, "-l", ms2_library, "--threads", 1, "--format", "jsonl")
    positive = _run(_as_mgf("ms2-queries-analog.msp.gz", tmp_path), "-l", ms2_library, "--threads", 1, "--format", "jsonl")
    assert expected.stdout.count("\n") > 100 and expected.stdout != positive.stdout  # the ion mode changes the hits
    for source in (plain, zipped, between):
        runs, reads = [], []
        for n in (1, 2):
            read_here.clear()
            runs.append(_run(source, "-l", ms2_library, "--threads", n, "--format", "jsonl"))
            reads.append(list(read_here))
        assert [r.exit_code for r in runs] == [0, 0], runs[1].output
        assert runs[1].stdout == runs[0].stdout == expected.stdout and runs[1].stderr == runs[0].stderr
        # the command reads the first range; the file with a global line between blocks then whole
        assert len(reads[0]) == 200 and reads[1] == list(range(15)) + (reads[0] if source == between else [])
    # the ranges after the first on workers (the file read whole: its verdict columns and rows too)
    assert len(calls) == 4 and not any(os.getpid() in pids for pids in calls)


def test_a_damaged_mgf_block_in_a_later_range_reads_as_in_one_process(swgdrug_library, monkeypatch, tmp_path):
    """The 967 EI identity queries as MGF with bad peak lines in blocks read by different workers:
    the error names the first one's line and block as one process does (exit 3, one line, the
    previous output kept); --lenient skips both with the same notes and rows; a KEY=value line
    between two blocks (global from there on, which the workers' cut does not see) makes the
    command read the whole file itself, with the same rows."""
    calls = _split_small(monkeypatch)
    blocks = _mgf_text("ei-queries-identity.msp.gz", tmp_path).split("END IONS\n")
    for k in (500, 800):  # ranges of ~240 blocks after the first 15
        head, peaks = blocks[k].rsplit("\n", 2)[0], blocks[k].rsplit("\n", 2)[1]
        blocks[k] = f"{head}\n12 abc\n{peaks}\n"
    damaged = tmp_path / "damaged.mgf"
    damaged.write_text("END IONS\n".join(blocks), encoding="utf-8")
    line = "END IONS\n".join(blocks[:500]).count("\n") + blocks[500].count("\n")  # the line before its last
    _reads_as_one_process(damaged, swgdrug_library, f"damaged.mgf, line {line}, record 501: ")
    assert len(calls) == 2  # the strict run's workers read too: the first error in the file is raised


def test_a_few_queries_or_one_thread_start_no_worker(swgdrug_library, queries, monkeypatch):
    calls = _spy_on_workers(monkeypatch)
    result = _run(queries[0], "--library", swgdrug_library, "--threads", 2)  # 3 queries
    assert result.exit_code == 0, result.output
    assert calls == []


@pytest.mark.parametrize("fmt", ["mzml", "msp", "mgf"],
                         ids=["mzML, rows on workers", "MSP, read on workers", "MGF, read on workers"])
def test_a_worker_that_dies_ends_the_search_with_one_line_and_exit_1_and_writes_nothing(
        swgdrug_library, monkeypatch, tmp_path, fmt):
    """A worker killed (as by the OOM killer) mid-way: exit 1, one line on stderr, the previous
    output file untouched and no temporary file left beside it -- never a hang or a partial file."""
    import signal

    from nps_id import _workers
    from nps_id.commands import search as command

    monkeypatch.setattr(command, "FORK_FROM_QUERIES", 40)
    real = _workers.forked_map

    def killing(function, shared, tasks, workers, what="the work"):
        def dies_on_the_second_range(s, task):
            if task == tasks[1]:
                os.kill(os.getpid(), signal.SIGKILL)
            return function(s, task)
        return real(dies_on_the_second_range, shared, tasks, workers, what)

    monkeypatch.setattr(_workers, "forked_map", killing)
    (tmp_path / "q").mkdir()
    name = "ei-queries-identity.msp.gz"
    queries = {"msp": data_path("massbank", name), "mgf": _as_mgf(name, tmp_path / "q"),
               "mzml": _as_mzml(name, tmp_path / "q")}[fmt]
    out = tmp_path / "hits.tsv"
    out.write_text("the previous search\n")
    result = _run(queries, "--library", swgdrug_library, "--threads", 2, "-o", out)
    assert result.exit_code == 1, result.output
    what = "the verdict columns and rows" if fmt == "mzml" else "the search and its rows"
    assert result.stderr.splitlines() == [
        f"nps-id: error: a worker process died while making {what} (killed, out of "
        "memory, or a crash in native code); nothing was written. Run the command again, or with --threads 1 "
        "to do it in one process"]
    assert out.read_text() == "the previous search\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hits.tsv", "q"]
