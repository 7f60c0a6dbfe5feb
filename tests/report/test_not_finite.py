"""A NaN or an infinity in a results file or a report document is bad input (stop 44): JSON Schema's
0-1 bounds let NaN through (every comparison with it is false), so a probability of NaN "met" them."""
from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.errors import InputError
from nps_id.match.results import write_results_json
from nps_id.report.document import build_report
from nps_id.report.jsondoc import validate_report
from tests.report.conftest import FIXED_NOW, SAMPLE_INFO


def _with_group_probability(results: dict, value: float) -> dict:
    """The card's results with its unknown compound given a group and ``value`` as its model's probability."""
    results = copy.deepcopy(results)
    unknown = next(f for f in results["findings"] if f.get("new_substance"))
    unknown.update(suspected_group="Benzodiazepines", suspected_group_probability=value)
    return results


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_group_probability_that_is_no_finite_number_fails_the_report_schema(lrcfs_results, value):
    results, _ = lrcfs_results["220223030"]
    doc = build_report(_with_group_probability(results, 0.95), SAMPLE_INFO, now=FIXED_NOW)
    validate_report(doc)  # a probability in 0-1 passes
    (finding,) = [f for f in doc["findings"] if f.get("suspected_group_probability") == 0.95]
    finding["suspected_group_probability"] = value
    # NaN by the finite check; an infinity already by the bounds
    with pytest.raises(InputError, match=rf"/findings/{finding['index']}/suspected_group_probability"
                                         rf"( is nan, not a finite number|: -?inf is (greater|less) than)"):
        validate_report(doc)


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_report_refuses_a_results_file_holding_nan_in_one_line_exit_3(lrcfs_results, swgdrug_library, tmp_path, value):
    results, _ = lrcfs_results["220223030"]
    text = json.dumps(_with_group_probability(results, 0.5)).replace('"suspected_group_probability": 0.5',
                                                                      f'"suspected_group_probability": {value}')
    assert value in text
    source = tmp_path / "card.match.json"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "card.html"
    result = CliRunner().invoke(cli, ["report", str(source), "-o", str(out), "-l", str(swgdrug_library)])
    assert result.exit_code == 3, result.output
    # the results reader refuses the literal before the schema sees it
    assert f"{value} is not a JSON number" in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_the_results_writer_refuses_nan_naming_where_and_keeps_the_previous_file(lrcfs_results, tmp_path, value):
    """``match`` and every ``batch`` worker wrote results with Python's ``NaN`` (no JSON number), a file ``report``
    then refused (stop 45): now one line naming where, and the previous results file as it was."""
    results, _ = lrcfs_results["220223030"]
    target = tmp_path / "220223030.mzML.match.json"
    write_results_json(results, target)
    before = target.read_bytes()
    bad = copy.deepcopy(results)
    index = next(i for i, f in enumerate(bad["findings"]) if f.get("snr") is not None)
    bad["findings"][index]["snr"] = value
    with pytest.raises(InputError, match=rf"/findings/{index}/snr is {value!r}, not a finite number; not written"):
        write_results_json(bad, target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [target.name]
    json.loads(before, parse_constant=pytest.fail)  # what it wrote is JSON
