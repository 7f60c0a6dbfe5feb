"""Atomic outputs: a regular file is replaced whole; a FIFO or device is written in place."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import zlib

import pytest

from nps_id import _atomic
from nps_id._atomic import _temporary_prefix, atomic_output
from nps_id.errors import InputError


def test_regular_file_is_replaced_whole_and_a_failure_keeps_the_old_one(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed half-way")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_fifo_is_written_in_place_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    with atomic_output(fifo) as path:
        path.write_text("rows\n")
    reader.join(timeout=10)
    assert received == [b"rows\n"]
    assert fifo.is_fifo()  # still the pipe, not a regular file put in its place


def test_a_folder_in_the_way_is_one_clear_error(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(InputError, match="cannot write the output here"):
        with atomic_output(tmp_path / "taken") as tmp:
            tmp.write_text("x")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_the_output_gets_the_mode_an_ordinary_open_would_give(tmp_path):
    # mkstemp makes 0600; a library or report that only its builder can read is a surprise.
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "lib.h5") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "lib.h5").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_no_room_is_one_input_error_and_the_old_file_stays(tmp_path, code):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(InputError, match="cannot write the output here"):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise OSError(code, os.strerror(code))
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_dev_full_is_one_input_error():
    with pytest.raises(InputError, match="/dev/full: cannot write the output here"):
        with atomic_output("/dev/full") as path:
            path.write_text("rows\n")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links on this platform")
def test_a_symlinked_output_is_written_through_and_stays_a_link(tmp_path):
    # A lab keeps "latest.tsv" as a link to the dated file its LIMS reads: the link must survive.
    (tmp_path / "runs").mkdir()
    real = tmp_path / "runs" / "2026-12-03.tsv"
    real.write_text("old")
    link = tmp_path / "latest.tsv"
    link.symlink_to(real)
    with atomic_output(link) as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and real.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.tsv", "runs"]


def _leftover(target, host_prefix: str, pid: int):
    path = target.parent / f"{host_prefix}{pid}-abcd1234"
    path.write_bytes(b"half a library")
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.skipif(os.name != "posix", reason="process probes by signal 0 are POSIX")
def test_the_next_write_removes_what_a_killed_writer_left_and_nothing_else(tmp_path):
    # A SIGKILLed `library build` leaves its half-written temporary (tens of MB) beside the target.
    target = tmp_path / "lib [1].h5"  # glob's special characters in the name are matched literally
    prefix = _temporary_prefix(target)
    dead = _leftover(target, prefix, _dead_pid())
    live = _leftover(target, prefix, os.getppid())  # a concurrent writer: its rename must still work
    other_host = _leftover(target, f".{target.name}.tmp-00000000-", _dead_pid())
    other_target = _leftover(target, _temporary_prefix(tmp_path / "lib.h5"), _dead_pid())
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert not dead.exists()
    assert live.exists() and other_host.exists() and other_target.exists()


@pytest.mark.skipif(os.name != "posix", reason="process probes by signal 0 are POSIX")
def test_a_name_that_fitted_before_the_host_and_pid_prefix_still_writes_and_is_cleaned(tmp_path):
    # 98b01c7's ".NAME.tmp-" + 8 characters took names up to 241 bytes; HOST and PID must not cut that.
    target = tmp_path / ("r" * 237 + ".tsv")
    dead = _leftover(target, _temporary_prefix(target), _dead_pid())
    with atomic_output(target) as tmp:
        assert len(tmp.name) <= 255
        tmp.write_text("new")
    assert target.read_text() == "new" and not dead.exists()


@pytest.mark.skipif(os.name != "posix", reason="process probes by signal 0 are POSIX")
def test_only_a_regular_file_named_exactly_as_a_temporary_of_this_target_is_removed(tmp_path):
    target = tmp_path / "x"
    prefix = _temporary_prefix(target)
    pid = _dead_pid()
    # the temporary of another output named "x.tmp-HOST-PID-abcd1234" starts with x's prefix
    other = tmp_path / f"{prefix}{pid}-abcd1234.tmp-{prefix.split('-')[1]}-{pid}-efgh5678"
    other.write_text("another output's temporary")
    kept = tmp_path / "kept.tsv"
    kept.write_text("a user's file")
    link = tmp_path / f"{prefix}{pid}-abcd4321"
    link.symlink_to(kept)
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert other.exists() and link.is_symlink() and kept.read_text() == "a user's file"


_WRITER = """
import os, sys
from nps_id._atomic import atomic_output
with atomic_output(sys.argv[1]) as tmp:
    tmp.write_text("slow writer's output")
    print("writing", os.getpid(), flush=True)
    sys.stdin.readline()
print("renamed", flush=True)
"""


def _unshare_works() -> bool:
    return subprocess.run(["unshare", "-pfr", "true"], capture_output=True).returncode == 0 \
        if os.path.exists("/usr/bin/unshare") else False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _unshare_works(),
                    reason="needs Linux and unshare -pfr (user and PID namespaces)")
def test_a_live_writer_in_another_pid_namespace_of_this_host_name_keeps_its_temporary(tmp_path):
    # A container sharing the host name (--network host): its writer's pid means nothing here.
    target = tmp_path / "lib.tsv"
    # its pid set high (no such process here) by ns_last_pid, as a busy container's would be
    high = int(open("/proc/sys/kernel/pid_max").read()) - 100
    script = f'echo {high} > /proc/sys/kernel/ns_last_pid && "$0" -c "$1" "$2"; exit $?'
    writer = subprocess.Popen(["unshare", "-pfr", "--mount-proc", "sh", "-c", script, sys.executable, _WRITER, str(target)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    started, pid = writer.stdout.readline().split()
    assert started == "writing" and not os.path.exists(f"/proc/{pid}")
    with atomic_output(target) as tmp:
        tmp.write_text("this process's output")
    out, _ = writer.communicate("go\n", timeout=60)
    assert out == "renamed\n" and target.read_text() == "slow writer's output"


def test_a_temporary_removed_under_the_writer_is_one_line_and_the_old_file_kept(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("old")
    with pytest.raises(InputError, match="cannot write the output here"):
        with atomic_output(target) as tmp:
            tmp.write_text("new")
            tmp.unlink()
    assert target.read_text() == "old"


@pytest.mark.skipif(not os.path.exists("/proc/sys/kernel/random/boot_id"), reason="needs Linux's boot id")
def test_a_dead_looking_temporary_of_another_machine_of_this_name_is_kept(tmp_path, monkeypatch):
    # Two machines called "localhost" sharing a folder: the same host name, the same first PID
    # namespace inode; the other's live writer's pid may be no process here.
    target = tmp_path / "lib.h5"
    with monkeypatch.context() as patch:
        patch.setattr(_atomic, "_process_space", lambda: "another kernel's boot id pid:[4026531836]")
        theirs = _leftover(target, _temporary_prefix(target), _dead_pid())
    with atomic_output(target) as tmp:
        tmp.write_text("ours")
    assert theirs.exists() and target.read_text() == "ours"


def test_a_file_system_of_shorter_names_takes_the_names_it_took_before(tmp_path, monkeypatch):
    # eCryptfs takes 143 bytes: 98b01c7's temporary (the name + 14 bytes) fitted names up to 129
    real = os.pathconf
    monkeypatch.setattr(os, "pathconf", lambda path, name: 143 if name == "PC_NAME_MAX" else real(path, name))
    target = tmp_path / ("e" * 125 + ".tsv")
    with atomic_output(target) as tmp:
        assert len(os.fsencode(tmp.name)) <= 143
        tmp.write_text("new")
    assert target.read_text() == "new"


def test_a_write_names_its_host_as_before_without_importing_socket(tmp_path):
    # socket cost every search with -o ~2.5 ms; a temporary left by an older writer must keep its name
    code = ("import sys; from pathlib import Path; from nps_id._atomic import atomic_output, _temporary_prefix\n"
            f"with atomic_output(Path({str(tmp_path / 'out.tsv')!r})) as tmp: tmp.write_text('x')\n"
            "print('socket' in sys.modules, _temporary_prefix(Path('/tmp/out.tsv')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout.split()
    import socket

    host = zlib.crc32(f"{socket.gethostname()}\0{_atomic._process_space()}".encode("utf-8", "surrogateescape"))
    assert out == ["False", f".out.tsv.tmp-{host:08x}-"] and (tmp_path / "out.tsv").read_text() == "x"


def test_without_os_uname_the_host_is_sockets_and_the_name_the_same(tmp_path, monkeypatch):
    # Windows has no os.uname: the host name from socket there, and the temporaries keep one name
    target = tmp_path / "out.tsv"
    with_uname = _atomic._temporary_prefix(target)
    monkeypatch.delattr(os, "uname")
    assert _atomic._temporary_prefix(target) == with_uname
    with atomic_output(target) as tmp:
        tmp.write_text("x")
    assert target.read_text() == "x"


def test_an_interrupt_as_the_temporary_is_created_leaves_no_temporary(tmp_path, monkeypatch):
    # SIGTERM (or Ctrl-C) arriving just after the temporary was created, before the writer knew its
    # name (mkstemp returns it only then), skipped its removal: CI saw `nps-id convert` killed by
    # SIGTERM leave `.out.mzML.tmp-*` beside the output (stop 44). The name is now kept first.
    class Interrupted(Exception):
        pass

    def interrupted(signum, frame):
        raise Interrupted

    real_open = os.open

    def open_then_sigterm(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        if ".tmp-" in os.fspath(path):
            os.kill(os.getpid(), signal.SIGTERM)  # its handler raises at the next bytecode
        return fd

    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        monkeypatch.setattr(os, "open", open_then_sigterm)
        with pytest.raises(Interrupted):
            with atomic_output(tmp_path / "out.txt") as tmp:
                tmp.write_text("never")
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []
