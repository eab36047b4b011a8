import os
import tempfile
from collections.abc import Iterator

import pytest
import torch

# Everything runs offline: a test must never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One frame cache for the session's tests and the stages they start, never the repository's.
os.environ.setdefault("VIDEOSTAR_FRAME_CACHE", tempfile.mkdtemp(prefix="videostar-frames-"))


@pytest.fixture(scope="module")
def cpu_one_thread() -> Iterator[None]:
    """CPU tier (byte determinism holds on CPU), one torch thread: tiny matrices gain little from
    a second one, and with other processes on the two cores spinning threads slowed tests
    ten-fold. Use with ``pytestmark = pytest.mark.usefixtures("cpu_one_thread")``."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDEOSTAR_DEVICE", "cpu")
        yield
    torch.set_num_threads(previous)
