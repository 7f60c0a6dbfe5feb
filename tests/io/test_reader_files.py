"""What every reader does with its file: checks it when called, holds it open only while it is
iterated, and reports a truncated gzip copy as a ReaderError.

A generator that is never started, closed early or dropped half way must not leave its file
open: batch runs read thousands of files, and on Windows an open handle also blocks moving or
deleting the file.
"""
from __future__ import annotations

import codecs
import gc
import gzip
import warnings
from pathlib import Path
from typing import Callable, Iterator

import pytest

from nps_id import io as nio
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


@pytest.mark.parametrize("folder,name,saved_as,fmt", [
    ("matchms-tests", "massbank_five_spectra.msp", "library.txt", "msp"),  # a ".txt" export
    ("matchms-tests", "massbank_five_spectra.msp", "library", "msp"),  # no extension at all
    ("matchms-tests", "pesticides.mgf", "pesticides.txt", "mgf"),
])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_recognised_by_its_content(tmp_path, folder, name, saved_as, fmt, encoding):
    """Notepad's "Unicode" copy of a library, saved as .txt: the markers the format is told by
    ("Name:", "BEGIN IONS") were looked for in the raw bytes, where UTF-16 puts a zero byte
    between every two letters -- "cannot tell the file format"."""
    original = data_path("formats", folder, name)
    bom = codecs.BOM_UTF16_LE if encoding == "utf-16-le" else codecs.BOM_UTF16_BE
    path = tmp_path / saved_as
    path.write_bytes(bom + original.read_text(encoding="utf-8").encode(encoding))
    assert nio.detect_format(path) == fmt
    again = list(nio.read(path))
    assert [(s.name, s.mz.tolist()) for s in again] == [(s.name, s.mz.tolist()) for s in nio.read(original)]
