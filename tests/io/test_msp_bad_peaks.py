"""MSP peak values that are not finite numbers, on real SWGDRUG records: the one-line error must
point at the peak's own line, quoting it, as for any other non-finite peak.

A line starting "nan" or "inf" (any case) after ``Num Peaks`` is a peak line to the reader's
loop, as a line starting with a digit, sign, "." or "(" is: the record's peaks are then checked
together and the error names that line. (Before, the record ended at the ``Num Peaks`` line and
the error named that line: "'Num Peaks: N' but no peak lines follow".)
"""
from __future__ import annotations

import itertools

import pytest

from nps_id.errors import ReaderError
from nps_id.io import msp
from nps_id.io._source import ReadReport
from tests.conftest import data_path

FINITE = "peak m/z must be a positive finite number and intensity finite and >= 0"


def _swgdrug_with_bad_peak(tmp_path, peak: int, mz: str = "nan") -> tuple:
    """Three SWGDRUG records as the writer lays them out (one peak a line); the m/z of peak
    ``peak`` of the second record replaced by ``mz``. Returns (path, 1-based line, its text)."""
    path = tmp_path / "swgdrug-3.msp"
    msp.write(itertools.islice(msp.read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")), 3), path)
    lines = path.read_text(encoding="utf-8").split("\n")
    num_peaks = [i for i, line in enumerate(lines) if line.startswith("Num Peaks:")][1]
    at = num_peaks + 1 + peak
    lines[at] = f"{mz} {lines[at].split()[1]}"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, at + 1, lines[at]


@pytest.mark.parametrize("peak", [0, 2])
@pytest.mark.parametrize("mz", ["nan", "inf", "NaN"])
def test_non_finite_mz_is_reported_at_its_own_line(tmp_path, peak, mz):
    path, line, text = _swgdrug_with_bad_peak(tmp_path, peak, mz)
    with pytest.raises(ReaderError) as err:
        list(msp.read(path))
    assert str(err.value) == f"{path}, line {line}, record 2: {FINITE} (got {text!r})"


def test_a_non_finite_mz_after_a_digit_is_already_reported_at_its_line(tmp_path):
    # "-nan" starts like a number, so the loop keeps it with the peaks: the message is the target.
    path, line, text = _swgdrug_with_bad_peak(tmp_path, 2, "-nan")
    with pytest.raises(ReaderError) as err:
        list(msp.read(path))
    assert str(err.value) == f"{path}, line {line}, record 2: {FINITE} (got {text!r})"


def test_lenient_skips_only_the_record_with_the_bad_peak(tmp_path):
    path, line, text = _swgdrug_with_bad_peak(tmp_path, 0)
    report = ReadReport(str(path), lenient=True)
    spectra = list(msp.read(path, report))
    assert [s.get("scan_index") for s in spectra] == [0, 2]
    assert [(q["record"], q["line"], q["text"]) for q in report.quarantine] == [(1, line, text)]


def test_a_key_starting_like_inf_after_the_peaks_is_still_metadata(tmp_path):
    path = tmp_path / "two.msp"
    path.write_text("Name: A\nNum Peaks: 1\n50 1\nInfo: from the next record\nName: B\nNum Peaks: 1\n60 2\n")
    spectra = list(msp.read(path))
    assert [s.name for s in spectra] == ["A", "B"]
    assert spectra[1].get("info") == "from the next record"


@pytest.mark.parametrize("mz, intensity, reason", [
    ("2e6", "5", "peak m/z above 1e+06: no mass spectrometer measures such ions"),
    ("1e300", "5", "peak m/z above 1e+06: no mass spectrometer measures such ions"),
    ("91", "1e39", "peak intensity above 3.40282e+38, the largest float32"),
])
def test_out_of_range_peaks_are_reported_at_their_own_line(tmp_path, mz, intensity, reason):
    # They passed the reader's checks and were refused by Spectrum, named at the record's first line.
    path, line, _ = _swgdrug_with_bad_peak(tmp_path, 2, mz)
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = text = f"{mz} {intensity}"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ReaderError) as err:
        list(msp.read(path))
    assert str(err.value) == f"{path}, line {line}, record 2: {reason} (got {text!r})"


@pytest.mark.parametrize("kept, says", [(1, "but 1 peak follows"), (2, "but 2 peaks follow")])
def test_a_short_peak_list_is_counted_in_the_right_number(tmp_path, kept, says):
    # a real SWGDRUG record cut to its first peak(s) under its own 'Num Peaks'
    path = tmp_path / "swgdrug-1.msp"
    msp.write(itertools.islice(msp.read(data_path("swgdrug", "SWGDRUG-3.4.msp.gz")), 1), path)
    lines = path.read_text(encoding="utf-8").split("\n")
    num_peaks = next(i for i, line in enumerate(lines) if line.startswith("Num Peaks:"))
    path.write_text("\n".join(lines[:num_peaks + 1 + kept]) + "\n", encoding="utf-8")
    with pytest.raises(ReaderError) as err:
        list(msp.read(path))
    assert str(err.value).endswith(says)
