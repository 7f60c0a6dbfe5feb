"""What every reader does with its file: checks it when called, holds it open only while it is
iterated, and reports a truncated gzip copy as a ReaderError.

A generator that is never started, closed early or dropped half way must not leave its file
open: batch runs read thousands of files, and on Windows an open handle also blocks moving or
deleting the file.
"""
from __future__ import annotations

import gc
import gzip
import warnings
from pathlib import Path
from typing import Callable, Iterator

import pytest

from nps_id.errors import EXIT_BAD_INPUT, InputError, ReaderError
from nps_id.io import jcamp, mgf, ms1, msp, mzml, mzxml
from nps_id.spectrum import Spectrum
from tests.conftest import data_path

# (reader, folder below ../shared/data/formats, file with at least two spectra)
READERS = [
    pytest.param(mgf.read, "matchms-tests", "pesticides.mgf", id="mgf"),
    pytest.param(ms1.read, "pyteomics-tests", "test.ms1", id="ms1"),
    pytest.param(ms1.read, "pyteomics-tests", "test.ms2", id="ms2"),
    pytest.param(msp.read, "matchms-tests", "massbank_five_spectra.msp", id="msp"),
    pytest.param(jcamp.read, "jcampconverter-ms", "ISAS_MS1.DX", id="jcamp"),
    pytest.param(mzml.read, "pymzml-tests", "example.mzML", id="mzml"),
    pytest.param(mzxml.read, "matchms-tests", "testdata.mzXML", id="mzxml"),
]
Reader = Callable[[str], Iterator[Spectrum]]


def _unclosed_file_warnings(path: Path, action: Callable[[], None]) -> list[str]:
    """ResourceWarnings about ``path`` emitted while ``action`` runs and its garbage is collected."""
    gc.collect()  # earlier tests' garbage must not be blamed on this one
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        action()
        gc.collect()
    return [str(w.message) for w in caught
            if issubclass(w.category, ResourceWarning) and str(path) in str(w.message)]


@pytest.mark.parametrize("reader,folder,name", READERS)
@pytest.mark.parametrize("how", ["never started", "closed after one spectrum", "dropped after one spectrum"])
def test_abandoned_reader_leaves_no_open_file(reader: Reader, folder: str, name: str, how: str):
    path = data_path("formats", folder, name)

    def abandon() -> None:
        spectra = reader(str(path))
        if how != "never started":
            assert isinstance(next(spectra), Spectrum)
        if how == "closed after one spectrum":
            spectra.close()
        # otherwise the generator's last reference goes when this function returns

    assert _unclosed_file_warnings(path, abandon) == []


@pytest.mark.parametrize("reader,folder,name", READERS)
def test_missing_file_fails_when_the_reader_is_called(tmp_path, reader: Reader, folder: str, name: str):
    missing = tmp_path / name
    with pytest.raises(InputError, match="no such file") as info:
        reader(str(missing))  # not iterated: the check is up front
    assert info.value.exit_code == EXIT_BAD_INPUT


@pytest.mark.parametrize("reader,folder,name", READERS)
def test_truncated_gzip_copy_is_a_reader_error(tmp_path, reader: Reader, folder: str, name: str):
    packed = gzip.compress(data_path("formats", folder, name).read_bytes())
    path = tmp_path / f"{name}.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ReaderError, match="cannot read the file"):
        for _ in reader(str(path)):
            pass
