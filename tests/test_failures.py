"""Out of memory and disk full end a stage with what to change, and keep finished work."""

from __future__ import annotations

import errno

import pytest
import torch

from videostar.core import failures

OOM = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_names_the_params_to_lower():
    memory = ["sampling.answer.batch_size"]
    with pytest.raises(failures.StageFailure) as caught, failures.explained("answer@c1", memory):
        raise OOM
    message = str(caught.value)
    assert message.startswith("answer@c1: out of memory (CUDA out of memory.")
    assert "lower `sampling.answer.batch_size`" in message and ".videostar/partial" in message


def test_a_full_disk_says_so():
    full = OSError(errno.ENOSPC, "No space left on device", "models/cycle_1/x")
    with pytest.raises(failures.StageFailure, match="the disk is full"), failures.explained("t"):
        raise full


def test_other_errors_pass_through_unchanged():
    with pytest.raises(FileNotFoundError), failures.explained("x"):
        raise FileNotFoundError(errno.ENOENT, "missing")
    with pytest.raises(ValueError, match="bad"), failures.explained("x"):
        raise ValueError("bad")
