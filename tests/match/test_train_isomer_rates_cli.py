"""benchmarks/train_isomer_rates.py's refusals (stop 45): one line and the project's exit code (3 bad input, 4 bad
library; README "Exit codes"), as its diastereomer twin's -- ``SystemExit("...")`` exited 1, the code of a found
match or a failed item."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_isomer_rates.py"


def _train(*args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stderr.strip()


def test_refused_input_is_one_line_with_the_projects_exit_code(swgdrug_library, tmp_path):
    digest = hashlib.sha256(swgdrug_library.read_bytes()).hexdigest()
    code, err = _train(str(swgdrug_library), "-o", str(swgdrug_library))  # the rates onto the real library
    assert code == 3 and err == (f"train_isomer_rates: error: {swgdrug_library}: is an input of this command "
                                 f"({swgdrug_library}); write the output somewhere else")
    assert hashlib.sha256(swgdrug_library.read_bytes()).hexdigest() == digest
    code, err = _train(str(tmp_path / "missing.h5"), "-o", str(tmp_path / "out.json"))
    assert code == 4 and err == f"train_isomer_rates: error: {tmp_path / 'missing.h5'}: no such library file"
    assert not (tmp_path / "out.json").exists()
