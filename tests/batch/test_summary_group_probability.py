"""The group model's probability in the batch summary and the LIMS table (stop 44): the reports and
``match``'s table gave it, the summary and the LIMS row did not -- a lead at 0.53 read as one at 0.99.

Real data: the LRCFS card FL22/009-2 matched against SWGDRUG 3.4 without its benzodiazepines' records
(README, "Quick tour"), so flubromazepam and etizolam are suspected new benzodiazepines the model names."""
from __future__ import annotations

import csv
import gzip
import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from nps_id.batch.runner import results_path
from nps_id.cli import cli
from tests.conftest import built_once, data_path

LEFT_OUT = (b"Flubromazepam", b"Etizolam", b"Bromazepam", b"Flubrotizolam", b"Deschloroetizolam")


@pytest.fixture(scope="module")
def card_batch(tmp_path_factory, swgdrug_opsin) -> tuple:
    """(batch output folder, library): SWGDRUG 3.4 without :data:`LEFT_OUT` built by ``nps-id library build`` and the
    card's batch run on it, once per run of the suite (:func:`built_once`): this module and
    tests/match/test_core_structure.py read the same two (each built and batched them until stop 51). Read-only: a
    test that batches again copies the output folder first."""
    def build(base: Path) -> tuple:
        records = gzip.decompress(data_path("swgdrug", "SWGDRUG-3.4.msp.gz").read_bytes()).split(b"\r\n\r\n")
        kept = [r for r in records if not any(r.startswith(b"Name: " + name + b"\r\n") for name in LEFT_OUT)]
        assert len(records) - len(kept) >= 2
        (base / "without.msp").write_bytes(b"\r\n\r\n".join(kept) + b"\r\n")
        runner = CliRunner()
        library = base / "without.h5"
        with swgdrug_opsin():  # the names' structures as the session's SWGDRUG build had them from OPSIN
            built = runner.invoke(cli, ["library", "build", str(base / "without.msp"), "-o", str(library), "--name",
                                        "SWGDRUG", "--release", "3.4-benzodiazepines-out", "--ms-level", "1"])
        assert built.exit_code == 0, built.output
        (base / "runs").mkdir()
        (base / "runs" / "220223030.mzML").symlink_to(data_path("gcms", "lrcfs", "220223030.mzML"))
        ran = runner.invoke(cli, ["batch", str(base / "runs"), "-l", str(library), "-o", str(base / "out"),
                                  "--internal-standard", "bupivacaine@6.51", "--progress", "json"])
        assert ran.exit_code == 0, ran.output
        return base / "out", library

    return built_once(tmp_path_factory, "card-batch-benzodiazepines-out", build)


def test_the_batch_summary_gives_each_model_named_group_its_probability(card_batch):
    out, _ = card_batch
    with (out / "summary.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["substance", "220223030.mzML", "internal_standard", "group_probability", "summary_id"]  # at the end
    by_name = {r[0]: r for r in rows[1:]}
    leads = {n: r[-2] for n, r in by_name.items() if n.startswith("suspected new substance (Benzodiazepines)")}
    assert len(leads) == 2 and all(0.9 <= float(p) <= 1 and len(p) == 5 for p in leads.values()), leads
    assert by_name["Bupivacaine"][-3:-1] == ["yes", ""] and by_name["status"][-3:-1] == ["", ""]
    assert by_name["Benzocaine"][-2] == ""  # a library compound's row: no group model
    unknown = next(r for n, r in by_name.items() if n.startswith("unknown compound"))
    assert unknown[-2] == ""  # no group named, no probability
    cells = json.loads((out / "summary.json").read_text(encoding="utf-8"))["cells"]
    for name, probability in leads.items():
        (cell,) = cells[name].values()
        assert f"{cell['group_probability']:.3f}" == probability
        assert cell["group_band"] == "at 0.9-1 right 724 of 763 in the EI tests"
        results = json.loads(results_path(out, "220223030.mzML").read_text(encoding="utf-8"))
        assert cell["group_probability"] in {f.get("suspected_group_probability") for f in results["findings"]}
    html = (out / "summary.html").read_text(encoding="utf-8")
    assert html.count("group model&#x27;s probability 0.9") + html.count("group model&#x27;s probability 1.000") == 2
    # and says under the table what the probability and its band's "tests" are (a new user, stop 44)
    note = html.split("</table>", 1)[1].split("<h2>", 1)[0]
    assert "confidence in the group, not a measured rate" in note and "SWGDRUG compounds left out" in note


def test_the_lims_row_of_a_suspected_new_substance_carries_the_group_probability_and_its_bands_rate(card_batch,
                                                                                                      tmp_path):
    out, library = card_batch
    written = CliRunner().invoke(cli, ["report", str(results_path(out, "220223030.mzML")), "-f", "csv", "-l", str(library),
                                       "-o", str(tmp_path / "lims.csv")])
    assert written.exit_code == 0, written.output
    with (tmp_path / "lims.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-3:] == ["finding_number", "suspected_group_probability", "suspected_group_band_rate"]
    leads = [r for r in rows if r["suspected_group"] == "Benzodiazepines"]
    assert len(leads) == 2
    for row in leads:
        assert 0.9 <= float(row["suspected_group_probability"]) <= 1
        assert row["suspected_group_band_rate"] == ("GC-EI-MS, SWGDRUG compounds left out of the library: a group "
                                                    "at 0.9-1 was right for 724 of 763")
    others = [r for r in rows if r["new_substance"] == "no" or not r["suspected_group"]]
    assert others and all(r["suspected_group_probability"] == r["suspected_group_band_rate"] == "" for r in others)


@pytest.mark.parametrize("damaged", ['"0.994"', "NaN", "2.0"])
def test_a_results_files_probability_that_is_no_probability_leaves_the_summary_whole_without_it(card_batch, tmp_path,
                                                                                                damaged):
    # a results file edited (its manifest with it) and kept as done: a string stopped the summary (TypeError,
    # no summary files), NaN went into summary.json as a bare NaN, 2.0 was "2.000 (below 0.52 ...)"
    def probability_to_damaged(text: str) -> str:
        doc = json.loads(text)
        for finding in doc["findings"]:
            if finding.get("suspected_group_probability") is not None:
                finding["suspected_group_probability"] = "@"
        return json.dumps(doc).replace('"@"', damaged)

    out = _summary_again_with_edited_results(card_batch, tmp_path, probability_to_damaged)
    with (out / "summary.csv").open(encoding="utf-8", newline="") as fh:
        leads = [r for r in csv.reader(fh) if r[0].startswith("suspected new substance (Benzodiazepines)")]
    assert len(leads) == 2 and all(r[-2] == "" for r in leads)
    cells = json.loads((out / "summary.json").read_text(encoding="utf-8"), parse_constant=pytest.fail)["cells"]
    assert all(c["group_probability"] is None for r in leads for c in cells[r[0]].values())


def _summary_again_with_edited_results(card_batch: tuple, tmp_path: Path, edit: Callable[[str], str]) -> Path:
    """The card batch copied, its results file's text ``edit``-ed (its manifest with it, so the run stays done),
    and the batch run again: its summary made from the edited file."""
    out = tmp_path / "out"
    shutil.copytree(card_batch[0], out)
    results = results_path(out, "220223030.mzML")
    results.write_text(edit(results.read_text(encoding="utf-8")), encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["entries"].values()
    entry["outputs"] = {rel: hashlib.sha256(results.read_bytes()).hexdigest() for rel in entry["outputs"]}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for name in ("summary.csv", "summary.json", "summary.html"):
        (out / name).unlink()
    ran = CliRunner().invoke(cli, ["batch", str(card_batch[0].parent / "runs"), "-l", str(card_batch[1]), "-o", str(out),
                                   "--internal-standard", "bupivacaine@6.51"])
    assert ran.exit_code == 0 and "1 already done before" in ran.output, ran.output
    return out


def test_a_results_files_rt_or_mf_that_is_no_finite_number_is_no_nan_in_summary_json(card_batch, tmp_path):
    """summary.json was written with Python's NaN (no JSON number: readers refuse the file) from a results file
    edited so (stop 45); the cell keeps its verdict, without the number."""
    def numbers_to_nan(text: str) -> str:
        doc = json.loads(text)
        for finding in doc["findings"]:
            finding["rt_min"], finding["mf"] = "@rt", "@mf"
        return json.dumps(doc).replace('"@rt"', "NaN").replace('"@mf"', "Infinity")

    out = _summary_again_with_edited_results(card_batch, tmp_path, numbers_to_nan)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"), parse_constant=pytest.fail)
    cells = [c for runs in summary["cells"].values() for c in runs.values()]
    assert cells and all(c["rt_min"] is None and c["mf"] is None and c["verdict"] for c in cells)
