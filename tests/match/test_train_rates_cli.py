"""The rate trainers' refusals (stop 45): benchmarks/train_diastereomer_rates.py and train_isomer_rates.py give one
line and the project's exit code (3 bad input, 4 bad library; README "Exit codes", as bench_novelty.py's), not
``SystemExit("...")``'s 1 -- the code of a found match or a failed item -- and an ``--add-to`` that is no rates file
is refused before the searches, not after."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _train(script: str, *args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, str(BENCHMARKS / f"{script}.py"), *args], capture_output=True, text=True,
                            timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr.strip()


@pytest.mark.parametrize("script", ["train_diastereomer_rates", "train_isomer_rates"])
def test_refused_input_is_one_line_with_the_projects_exit_code(script, swgdrug_library, tmp_path):
    digest = hashlib.sha256(swgdrug_library.read_bytes()).hexdigest()
    code, err = _train(script, str(swgdrug_library), "-o", str(swgdrug_library))  # the rates onto the real library
    assert code == 3 and err == (f"{script}: error: {swgdrug_library}: is an input of this command "
                                 f"({swgdrug_library}); write the output somewhere else")
    assert hashlib.sha256(swgdrug_library.read_bytes()).hexdigest() == digest
    code, err = _train(script, str(tmp_path / "missing.h5"), "-o", str(tmp_path / "out.json"))
    assert code == 4 and err == f"{script}: error: {tmp_path / 'missing.h5'}: no such library file"
    assert not (tmp_path / "out.json").exists()


def test_a_damaged_add_to_is_refused_before_the_searches(swgdrug_library, tmp_path):
    damaged = tmp_path / "rates.json"
    damaged.write_text("{", encoding="utf-8")
    code, err = _train("train_diastereomer_rates", str(swgdrug_library), "--add-to", str(damaged),
                       "-o", str(tmp_path / "out.json"))
    assert code == 3 and err.startswith(f"train_diastereomer_rates: error: {damaged}: --add-to is not a usable isomer "
                                        "rates file") and len(err.splitlines()) == 1
    assert not (tmp_path / "out.json").exists()


def test_keep_ms2_pool_without_a_file_to_keep_it_from_is_refused_before_the_searches(tmp_path):
    # stop 49: the pool it keeps is --add-to's, for the --ms2-moves kinds it adds
    code, err = _train("train_isomer_rates", str(tmp_path / "never-opened.h5"), "--ms2-moves", "chain_position",
                       "--keep-ms2-pool", "-o", str(tmp_path / "out.json"))
    assert code == 3 and err == ("train_isomer_rates: error: --keep-ms2-pool adds --ms2-moves kinds to the MS/MS pools "
                                 "of a rates file: give both --ms2-moves and --add-to")
    assert not (tmp_path / "out.json").exists()


def test_keep_ms2_pool_with_a_file_without_ms2_pools_is_refused_before_the_searches(tmp_path):
    # attack49b: an --add-to file of EI curves only has no pool to keep, and the run learned its own after ~13 min
    import json

    from nps_id.match.isomer_rule import SCORE_GRID

    ei_only = tmp_path / "ei.json"
    ei_only.write_text(json.dumps({"version": 3, "score_grid": list(SCORE_GRID), "contexts": {
        "drug": {"default": {"rate_at_score": [0.5] * len(SCORE_GRID)}}}}), encoding="utf-8")
    code, err = _train("train_isomer_rates", str(tmp_path / "never-opened.h5"), "--ms2-moves", "chain_position",
                       "--keep-ms2-pool", "--add-to", str(ei_only), "-o", str(tmp_path / "out.json"))
    assert code == 3 and err == (f"train_isomer_rates: error: {ei_only}: --keep-ms2-pool keeps the file's MS/MS pools, "
                                 "and it has none (no '-ms2' context with a 'default'); train its MS/MS curves first "
                                 "(--ms2-moves without it)")
    assert not (tmp_path / "out.json").exists()
