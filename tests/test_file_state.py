"""``nps_id._file_state``: what counts as an input changed while it was read."""
from __future__ import annotations

import os
import shutil

import pytest

from nps_id._file_state import file_state, require_unchanged
from nps_id.errors import InputError
from tests.conftest import data_path


def test_a_copy_renamed_over_the_file_with_its_time_kept_is_a_change_here_but_not_on_another_machine(tmp_path):
    run = tmp_path / "run.mzML"
    shutil.copyfile(data_path("gcms", "lrcfs", "220223001.mzML"), run)
    as_read = file_state(run)
    other = tmp_path / "other.mzML"
    shutil.copy2(run, other)  # the same bytes and modification time, another inode
    os.replace(other, run)
    with pytest.raises(InputError, match=r"changed while it was read .*bytes, replaced\)"):
        require_unchanged(run, as_read, "nothing written", "again")
    # a Dask worker compares a state the scheduler's machine took: only size and modification time say
    require_unchanged(run, as_read, "nothing written", "again", elsewhere=True)
    with open(run, "ab") as fh:
        fh.write(b" ")
    with pytest.raises(InputError, match=r"run.mzML: changed while it was read \([\d,]+ -> [\d,]+ bytes\); nothing"):
        require_unchanged(run, as_read, "nothing written", "again", elsewhere=True)


def test_a_folder_run_is_not_checked_and_a_vanished_file_is_said_to_be_gone(tmp_path):
    assert file_state(tmp_path) is None
    require_unchanged(tmp_path, None, "nothing written", "again")
    gone = tmp_path / "gone.msp"
    gone.write_text("NAME: x\nNum Peaks: 0\n")
    as_read = file_state(gone)
    gone.unlink()
    with pytest.raises(InputError, match="gone.msp: gone while it was read"):
        require_unchanged(gone, as_read, "nothing written", "again")


def test_a_file_given_only_a_hard_link_or_new_permissions_is_said_to_have_changed_its_change_time_only(tmp_path):
    # the state cannot tell a chmod or a hard link from a rewrite in place with its time put back
    # (both move only the change time): counted as a change, and said as what it is (attack51: the
    # line said "replaced or modified" of a file whose bytes nobody touched)
    run = tmp_path / "run.mzML"
    shutil.copyfile(data_path("gcms", "lrcfs", "220223001.mzML"), run)
    as_read = file_state(run)
    os.link(run, tmp_path / "backup.mzML")
    with pytest.raises(InputError, match=r"bytes, its change time only: .*links or attributes changed\); nothing") as err:
        require_unchanged(run, as_read, "nothing written", "again")
    assert "replaced" not in str(err.value)
    with open(run, "r+b") as fh:  # the same size, bytes rewritten in place: modified, not replaced
        fh.write(b" ")
    with pytest.raises(InputError, match=r"bytes, modified\); nothing"):
        require_unchanged(run, as_read, "nothing written", "again")
