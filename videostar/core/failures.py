"""Clear messages for the accidents every long stage meets: out of memory, disk full.

    with failures.explained("answer@cycle_1", memory=["sampling.answer.batch_size"]):
        ...                                      # the stage's work

An out-of-memory error in a batch, or a full disk while writing, ends the stage with one line
saying what happened and what to change, instead of a traceback from deep inside a library.
Finished work is kept either way (generation batches and training checkpoints live in
``.videostar/partial/``), so the rerun resumes.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


class StageFailure(SystemExit):
    """A stage stopped for a reason the user can act on; the message says how."""


def _out_of_memory(error: BaseException) -> bool:
    # torch.OutOfMemoryError (CUDA), and the CPU allocator's plain RuntimeError/MemoryError.
    return (
        type(error).__name__ == "OutOfMemoryError"
        or isinstance(error, MemoryError)
        or (isinstance(error, RuntimeError) and "out of memory" in str(error).lower())
    )


@contextmanager
def explained(stage: str, memory: Sequence[str] = ()) -> Iterator[None]:
    """Turn out-of-memory and disk-full errors inside the block into a ``StageFailure`` naming
    the params to lower (``memory``) or the space to free."""
    try:
        yield
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise StageFailure(
            f"{stage}: the disk is full ({e.filename or 'while writing'}): free space (e.g. "
            f"`dvc gc -w` drops cached versions no experiment uses) and rerun; finished work in "
            f".videostar/partial/ is kept and resumed"
        ) from e
    except BaseException as e:
        if not _out_of_memory(e):
            raise
        lower = " or ".join(f"`{p}`" for p in memory) or "the batch size"
        raise StageFailure(
            f"{stage}: out of memory ({str(e).splitlines()[0] if str(e) else type(e).__name__}): "
            f"lower {lower} and rerun; finished work in .videostar/partial/ is kept and resumed"
        ) from e
