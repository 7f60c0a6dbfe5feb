"""A small, clearly synthetic ``nps-id match`` results dict for unit tests of the reports.

The shape follows ``nps_id.match.pipeline.match_run`` (schema nps-id/match-results 1.0); the
numbers are invented (round values), not measured. Reference spectra are embedded so that no
library is needed.
"""
from __future__ import annotations

import copy
import datetime as dt

import pytest

FIXED_NOW = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.timezone.utc)
REPORT_ID = "0f3c5a2e-8d4b-4c1a-9e77-2b6d1f0a9c11"


def _peaks(pairs):
    return {"mz": [float(m) for m, _ in pairs], "intensity": [float(i) for _, i in pairs]}


BUPI = [(41, 120), (55, 80), (84, 150), (96, 60), (140, 999), (141, 110), (288, 30)]
FLUBRO = [(75, 90), (183, 140), (225, 160), (303, 420), (305, 400), (331, 999), (333, 950)]
ETIZ = [(137, 80), (224, 120), (266, 240), (313, 999), (315, 330), (342, 700), (344, 240)]
MPHP = [(41, 100), (91, 90), (119, 60), (140, 999), (141, 100), (259, 5)]


def _finding(name, verdict, rt, mf, rmf, gap, spectrum, reference, *, formula, inchikey, cas, row,
             component, isomer=False, runner=None, met=(), failed=(), rule="all identity criteria met",
             rule_id="identity"):
    return {
        "name": name, "library_id": str(1000 + row), "library_row": row, "inchikey": inchikey,
        "formula": formula, "cas": cas, "verdict": verdict, "rule": rule, "rule_id": rule_id,
        "criteria_met": list(met), "criteria_failed": list(failed), "criteria_not_evaluated": ["ri_window"],
        "match_mode": "identity", "rt_min": rt, "ri": None, "library_ri": None, "delta_ri": None,
        "mf": mf, "rmf": rmf, "score": mf, "gap": gap, "isomer_alert": isomer, "delta_mass": None,
        "runner_up": runner,
        "top_hits": [{"rank": 0, "name": name, "library_id": str(1000 + row), "library_row": row,
                      "inchikey": inchikey, "formula": formula, "cas": cas, "mf": mf, "rmf": rmf,
                      "score": mf, "delta_mass": None}]
                    + ([{"rank": 1, **runner, "delta_mass": None}] if runner else []),
        "scan": 100, "height": 1.0e6, "area": 2.0e7, "snr": 250.0, "n_ions": len(spectrum),
        "component": component,
        "spectrum": _peaks(spectrum),
        "reference_spectrum": _peaks(reference),
    }


MET = ["mf", "rmf", "gap", "no_isomer_alert", "major_ions"]


def make_results() -> dict:
    """A synthetic GC-EI-MS results dict: internal standard, two benzodiazepines, one cathinone
    tentative, one inconclusive component."""
    runner = {"name": "MPHP", "library_id": "2001", "library_row": 7, "inchikey": "SYNTHETICKEYA-UHFFFAOYSA-N",
              "formula": "C17H25NO", "cas": "34138583", "score": 905, "mf": 905, "rmf": 910}
    findings = [
        _finding("Bupivacaine", "identified", 6.512, 947, 951, 42, BUPI, BUPI, formula="C18H28N2O",
                 inchikey="LEBVLXFERQHONN-UHFFFAOYSA-N", cas="2180928", row=3, component=1, runner=runner,
                 met=MET),
        _finding("Flubromazepam", "identified", 7.421, 912, 930, 120, FLUBRO, FLUBRO, formula="C15H10BrFN2O",
                 inchikey="SYNTHETICKEYB-UHFFFAOYSA-N", cas="2647504", row=11, component=2, met=MET),
        _finding("Etizolam", "identified", 10.262, 925, 938, 150, ETIZ, ETIZ, formula="C17H15ClN4S",
                 inchikey="VMZUTJCNQWMAGF-UHFFFAOYSA-N", cas="40054695", row=12, component=4, met=MET),
        _finding(".alpha.-PVP", "tentative", 8.104, 760, 790, 12, MPHP, MPHP, formula="C15H21NO",
                 inchikey="SYNTHETICKEYC-UHFFFAOYSA-N", cas="14530335", row=20, component=3,
                 met=["mf"], failed=["rmf", "gap"], rule="weak match", rule_id="weak_match"),
        _finding("Methyl palmitate", "inconclusive", 12.5, 640, 700, 5, [(74, 999), (87, 600), (270, 50)],
                 [(74, 999), (87, 650), (143, 80), (270, 60)], formula="C17H34O2",
                 inchikey="FLIACVVOZYBSBS-UHFFFAOYSA-N", cas="112390", row=30, component=5,
                 met=[], failed=["mf", "rmf", "gap"], rule="below the tentative thresholds", rule_id="below_tentative_floor"),
    ]
    rts = [3.5 + i * 0.01 for i in range(1451)]
    peaks = {6.512: 9.0e6, 7.421: 3.0e6, 8.104: 8.0e5, 10.262: 5.0e6, 12.5: 6.0e5, 5.0: 4.0e5}
    tic = [2.0e5 + 1.0e4 * (rt - 3.5) + sum(h * 2.718281828 ** (-((rt - c) / 0.02) ** 2) for c, h in peaks.items())
           for rt in rts]
    components = [
        {"index": 0, "rt_min": 5.0, "scan": 200, "height": 4.0e5, "finding": None},
        {"index": 1, "rt_min": 6.512, "scan": 400, "height": 9.0e6, "finding": 0},
        {"index": 2, "rt_min": 7.421, "scan": 500, "height": 3.0e6, "finding": 1},
        {"index": 3, "rt_min": 8.104, "scan": 600, "height": 8.0e5, "finding": 3},
        {"index": 4, "rt_min": 10.262, "scan": 900, "height": 5.0e6, "finding": 2},
        {"index": 5, "rt_min": 12.5, "scan": 1200, "height": 6.0e5, "finding": 4},
    ]
    return {
        "schema": "nps-id/match-results",
        "schema_version": "1.0",
        "created": "2026-01-15T09:00:00+00:00",
        "software": {"name": "nps-id", "version": "0.1.0"},
        "run": {"file": "synthetic-run.mzML", "path": "/nonexistent/synthetic-run.mzML", "sha256": "ab" * 32,
                "format": "mzml", "instrument": "Synthetic GC-MS", "technique": "GC-EI-MS", "n_scans": 1451,
                "rt_range_min": [3.5, 18.0]},
        "parameters": {"top_k": 5, "analogue": True, "fragment_tolerance": "0.01 Da",
                       "verdict": {"identified_mf": 800, "identified_rmf": 850, "min_gap": 30},
                       "peaks": {"min_snr": 10.0, "rt_window_min": [3.5, 18.0]}},
        "library": {"name": "SWGDRUG (synthetic test entry)", "release": "3.4", "sha256": "cd" * 32,
                    "n_spectra": 2988, "path": "/nonexistent/lib.h5"},
        "tic": {"rt_min": [round(r, 4) for r in rts], "intensity": [round(v, 1) for v in tic]},
        "components": components,
        "findings": findings,
        "summary": {"identified": 3, "tentative": 1, "inconclusive": 1},
    }


SAMPLE_INFO = {
    "laboratory": {"name": "Example Forensic Laboratory (synthetic)", "country": "GB",
                   "contact": "nps-desk@example.invalid"},
    "analyst": {"name": "A. Analyst"},
    "reviewer": {"name": "R. Reviewer"},
    "item": {"lab_sample_id": "FL22/009-2", "case_id": "CASE-0001", "nature": "seizure",
             "date_received": "2022-02-10", "date_seized": "2022-02-01", "country_of_seizure": "GB",
             "physical_form": "paper card", "internal_standards": ["Bupivacaine"],
             "reference_standards_run": ["Etizolam"]},
    "report": {"report_id": REPORT_ID, "issued_at": "2026-01-15T10:00:00+00:00"},
}


@pytest.fixture
def results() -> dict:
    return make_results()


@pytest.fixture
def sample_info() -> dict:
    return copy.deepcopy(SAMPLE_INFO)


# -- real data: the LRCFS runs matched against SWGDRUG 3.4 -------------------------------------

LRCFS_RUNS = ["220223001", "220223002", "220223008", "220223010", "220223016", "220223030"]


@pytest.fixture(scope="session")
def lrcfs_results(swgdrug_library, tmp_path_factory):
    """{run name: (results dict, results JSON path)} for the six LRCFS runs, default settings and
    the internal standard at its expected RT (so bupivacaine is `identified`; the drugs are
    `tentative`, "isomer not excluded", docs/match.md); matched once per run of the suite."""
    import json

    from nps_id.match.parameters import MatchParameters

    from nps_id.match.pipeline import match_files
    from nps_id.match.standards import InternalStandard

    from tests.conftest import built_once, data_path

    runs = [data_path("gcms", "lrcfs", f"{name}.mzML") for name in LRCFS_RUNS]

    def match(folder):
        out = {}
        params = MatchParameters(internal_standards=(InternalStandard("Bupivacaine", 6.51),))
        for path, results in match_files(runs, swgdrug_library, params):
            target = folder / f"{path.stem}.match.json"
            target.write_text(json.dumps(results, indent=1), encoding="utf-8")
            out[path.stem] = (results, target)
        return out

    return built_once(tmp_path_factory, "report-lrcfs-results", match)


@pytest.fixture(scope="session")
def andi_results(swgdrug_library, tmp_path_factory) -> dict:
    """The ANDI run (README's ``inspect`` example) matched against SWGDRUG 3.4, default settings:
    once per run of the suite (``built_once``), for the report tests that read it."""
    from nps_id.match.pipeline import match_files

    from tests.conftest import built_once, data_path

    run = data_path("gcms", "andi", "agilent-gcms.cdf")

    def match(_folder):
        ((_, results),) = list(match_files([run], swgdrug_library))
        return results

    return built_once(tmp_path_factory, "report-andi-results", match)
