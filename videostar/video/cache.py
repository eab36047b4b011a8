"""Sampled frames decoded once per video and sampling setting, shared by every stage of a run.

A video is decoded by ``prepare`` (to check it), then by every answer, rationalize, train and
evaluation stage of both chains: about 15 times per run. The cache keeps each decoded ``Clip``
(frames, indices, fps, length; losslessly compressed) so later stages read it instead.

    cache = FrameCache.from_env()                # $VIDEOSTAR_FRAME_CACHE, "off" disables
    clip = cache.get(path, 8, segment, fps)      # None when not cached yet
    cache.put(path, 8, segment, fps, clip)

Entries are content-addressed: a clip's key is the digest of its video's bytes (a frame folder's:
of its frame files' bytes) and the sampling setting, so a changed video never reads stale frames,
and copies of a video share one entry. Hashing a file on every lookup would read it whole, so the
digest is remembered per (path, size, modification time), as DVC does for its own cache. The
folder is hardware, not a result: it lives outside params and DVC (``.videostar/frames/`` by
default, ignored by git and DVC); delete it at any time to free the space.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from videostar.video.clips import Clip, frame_files

DEFAULT_ROOT = Path(".videostar/frames")
# Bump when decoding changes what a setting yields, so old entries are never read again.
FORMAT = "1"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _digest_file(path: Path, into: hashlib.blake2b) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            into.update(chunk)


class FrameCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_env(cls) -> FrameCache | None:
        """The cache at ``$VIDEOSTAR_FRAME_CACHE`` (default ``.videostar/frames``); None when it
        is set to ``off``."""
        where = os.environ.get("VIDEOSTAR_FRAME_CACHE", "")
        if where.lower() == "off":
            return None
        return cls(Path(where) if where else DEFAULT_ROOT)

    def content_key(self, video: str | Path) -> str:
        """The digest of a video's bytes, remembered per (path, size, mtime)."""
        path = Path(video).resolve()
        # A frame folder: its frame files, in order.
        files = [p for _, p in frame_files(path)] if path.is_dir() else [path]
        stats = [(p.name, p.stat()) for p in files]
        identity = hashlib.blake2b(
            repr((str(path), [(n, s.st_size, s.st_mtime_ns) for n, s in stats])).encode(),
            digest_size=16,
        ).hexdigest()
        index = self.root / "index" / identity[:2] / identity
        try:
            return index.read_text()
        except FileNotFoundError:
            pass
        digest = hashlib.blake2b(digest_size=16)
        for p in files:
            _digest_file(p, digest)
        key = digest.hexdigest()
        _atomic_write(index, key.encode())
        return key

    def _entry(
        self,
        video: str | Path,
        num_frames: int,
        segment: tuple[float, float] | None,
        fps: float | None,
    ) -> Path:
        setting = repr((FORMAT, num_frames, segment, fps))
        key = hashlib.blake2b(
            (self.content_key(video) + setting).encode(), digest_size=16
        ).hexdigest()
        return self.root / "clips" / key[:2] / f"{key}.npz"

    def has(
        self,
        video: str | Path,
        num_frames: int,
        segment: tuple[float, float] | None,
        fps: float | None,
    ) -> bool:
        try:
            return self._entry(video, num_frames, segment, fps).is_file()
        # The video is missing or its path unusable (a NUL byte, too long): decoding says so.
        except (OSError, ValueError):
            return False

    def get(
        self,
        video: str | Path,
        num_frames: int,
        segment: tuple[float, float] | None,
        fps: float | None,
    ) -> Clip | None:
        """The cached clip, or None (not cached, or an entry that no longer reads)."""
        try:
            path = self._entry(video, num_frames, segment, fps)
            with np.load(path, allow_pickle=False) as entry:
                return Clip(
                    entry["frames"],
                    tuple(int(i) for i in entry["indices"]),
                    float(entry["fps"]),
                    int(entry["length"]),
                )
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None

    def put(
        self,
        video: str | Path,
        num_frames: int,
        segment: tuple[float, float] | None,
        fps: float | None,
        clip: Clip,
    ) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            frames=clip.frames,
            indices=np.asarray(clip.indices, dtype=np.int64),
            fps=np.float64(clip.fps),
            length=np.int64(clip.length),
        )
        _atomic_write(self._entry(video, num_frames, segment, fps), buffer.getvalue())
