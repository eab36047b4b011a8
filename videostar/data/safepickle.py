"""Load an annotation pickle without letting it run code: only numpy's array and scalar builders.

    from videostar.data import safepickle
    records = safepickle.load("Annotations/FineDiving_fine-grained_annotation.pkl")

A pickle runs code only through the globals it names (``os.system``, ``builtins.eval``, a class
whose ``__reduce__`` returns ``subprocess.call``); the unpickler looks every one of them up
through ``find_class`` before calling it. Here ``find_class`` answers from an explicit table of the
objects the FineDiving pickles need and refuses every other name, so a hostile payload fails with
``AnnotationError`` before anything of it runs. Containers, strings and numbers are opcodes, not
globals, and need no entry.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy._core import multiarray, numeric

from videostar.data.source import AnnotationError

# (module, name) as written in the pickle -> the object it stands for. The FineDiving pickles
# (protocol 3, NumPy 1.x) name numpy.core.*; NumPy 2 writes numpy._core.*; both spellings map to
# the same function so that numpy.core (a deprecated alias in NumPy 2) is never imported.
ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "dtype"): np.dtype,
    ("numpy", "ndarray"): np.ndarray,
    # ndarray: _reconstruct(ndarray, shape, dtype code) then __setstate__ with the raw bytes
    ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
    # np.int64 / np.float64 scalars (sub-action ids, judge scores): scalar(dtype, raw bytes)
    ("numpy.core.multiarray", "scalar"): multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): multiarray.scalar,
    # Arrays pickled at protocol 5 (Python's default) use _frombuffer(bytes, dtype, shape, order)
    # instead of _reconstruct; the real files do not, re-saved copies of them may.
    ("numpy.core.numeric", "_frombuffer"): numeric._frombuffer,
    ("numpy._core.numeric", "_frombuffer"): numeric._frombuffer,
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside ``ALLOWED``."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None


def load(path: str | Path) -> Any:
    """Unpickle ``path`` admitting only the globals in ``ALLOWED``.

    Raises AnnotationError naming the file when it is missing, not a pickle, or names any other
    global (``refused global 'os.system'``); nothing the pickle names outside the table is called.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            return _Unpickler(f).load()
    except RefusedGlobal as e:
        raise AnnotationError(
            f"{path}: refused global {str(e)!r}; annotation pickles may only hold builtin "
            "containers, strings, numbers and numpy arrays/scalars"
        ) from None
    except FileNotFoundError:
        raise AnnotationError(f"{path}: file not found") from None
    except Exception as e:  # truncated or corrupt bytes fail in many ways; all mean the same
        raise AnnotationError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from None
