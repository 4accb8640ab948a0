"""The run lock's platform paths that can run on Linux: reading and writing the holder without pread/pwrite."""

import os

import pytest

from nasnb.runs import RunLock, RunLocked, current_holder


def test_the_holder_record_is_written_and_read_without_pread_and_pwrite(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "pread")  # as on Windows, where msvcrt.locking replaces flock
    monkeypatch.delattr(os, "pwrite")
    lock = RunLock(tmp_path).acquire()
    try:
        with pytest.raises(RunLocked, match=rf"in use by pid {os.getpid()} — this process"):
            RunLock(tmp_path).acquire()
        assert current_holder(tmp_path)["pid"] == os.getpid()
    finally:
        lock.release()
    assert current_holder(tmp_path) is None and (tmp_path / ".lock").read_bytes() == b""
    RunLock(tmp_path).acquire().release()  # free again
