"""The local handoff's copy: each way of copying (copy_file_range, sendfile, a read loop) gives
the same bytes, a way the system refuses falls through to the next, and the client's file
position is left alone. The handoff end to end: tests/test_upload.py."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from mpm_backend import fd_uploads

pytestmark = pytest.mark.skipif(not fd_uploads.SUPPORTED, reason="no SCM_RIGHTS (Windows)")

SIZE = 3 * fd_uploads._READ_BYTES + 1234  # several read-loop steps, a ragged end


def _unsupported(*_args, **_kwargs):
    raise OSError(errno.ENOSYS, "not here")


@pytest.fixture
def files(tmp_path: Path):
    data = np.random.default_rng(1).bytes(SIZE)
    (tmp_path / "source").write_bytes(data + b"tail the copy must not take")
    source = os.open(tmp_path / "source", os.O_RDONLY)
    target = os.open(tmp_path / "target", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.lseek(source, 17, os.SEEK_SET)  # the client's own position: copies start at 0 anyway
    yield source, target, data, tmp_path / "target"
    os.close(source)
    os.close(target)


@pytest.mark.parametrize("refused", [(), ("copy_file_range",), ("copy_file_range", "sendfile")])
def test_every_way_of_copying_gives_the_same_bytes(files, monkeypatch, refused):
    source, target, data, path = files
    for name in refused:
        monkeypatch.setattr(os, name, _unsupported, raising=False)
    fd_uploads.copy_fd(source, target, SIZE)
    assert path.read_bytes() == data
    assert os.lseek(source, 0, os.SEEK_CUR) == 17
    assert fd_uploads.hash_fd(target, SIZE).digest() == hashlib.sha256(data).digest()


def test_a_source_shorter_than_announced_is_an_error(files):
    source, target, data, _ = files
    with pytest.raises(OSError, match="the file ended after"):
        fd_uploads.copy_fd(source, target, SIZE + 10_000)


def test_a_real_error_is_not_swallowed_by_the_fallbacks(files, monkeypatch):
    source, target, _, _ = files

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", full, raising=False)
    with pytest.raises(OSError) as caught:
        fd_uploads.copy_fd(source, target, SIZE)
    assert caught.value.errno == errno.ENOSPC
