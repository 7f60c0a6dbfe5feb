"""One query that cannot be searched is "1 ... spectrum", not "1 ... spectra" (the stop's
'1 spectrum' wording reached every message but search's "nothing searched" line)."""
from __future__ import annotations

import itertools

from click.testing import CliRunner

from nps_id.cli import cli
from nps_id.io import read, write
from tests.conftest import data_path


def test_one_unsearchable_query_is_one_spectrum(swgdrug_library, tmp_path):
    (query,) = itertools.islice(read(data_path("massbank", "ms2-queries-analog.msp.gz")), 1)
    for spectrum, code, why in ((query, 4, "nothing searched: 1 MS/MS spectrum, and the library holds none"),
                                (query.replace(precursor_mz=None), 3, "nothing searched: 1 MS/MS spectrum has no "
                                                                       "precursor m/z")):
        path = tmp_path / "one.msp"
        write([spectrum], path)
        result = CliRunner().invoke(cli, ["search", str(path), "-l", str(swgdrug_library)])
        assert result.exit_code == code and why in result.stderr, result.stderr
