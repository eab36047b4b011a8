"""Decode the sampled frames of many rows once per distinct clip, keeping each failure's reason.

A clip is what a row shows the model: its video (a file or a folder of frame images), the
segment of it in seconds (None: the whole video) and, for a frame folder, its frame rate.

    refs = [clip_ref(row) for row in rows]
    clips, errors = load_clips(refs, num_frames=8)        # {ref: Clip}, {ref: reason}
    clips[refs[0]].frames                                 # (T, H, W, 3) uint8; .times in seconds

Clips missing from the frame cache (``video/cache.py``, on unless ``$VIDEOSTAR_FRAME_CACHE=off``)
are decoded in ``$VIDEOSTAR_WORKERS`` processes (default: every core) and written to it; the
mapping returned then reads each clip back from the cache when it is used, so a stage's memory
does not grow with its rows. Without the cache, clips are decoded in this process and held.
When several processes run a stage (``shard``), the main one decodes and the others wait for it
and read the cache.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from tqdm import tqdm

from videostar.core.distributed import ALONE, Shard
from videostar.core.held import Held, budget_bytes
from videostar.video import clips
from videostar.video.cache import FrameCache

ClipRef = tuple[str, tuple[float, float] | None, float | None]
# Below this many clips to decode, starting worker processes costs more than it saves.
POOL_MIN_CLIPS = 32


def clip_ref(row: dict[str, Any]) -> ClipRef:
    """(video, segment, fps) of a manifest, question or training row."""
    segment = row.get("segment")
    return row["video"], (tuple(segment) if segment else None), row.get("fps")


def default_workers() -> int:
    """``$VIDEOSTAR_WORKERS``, else every core: hardware, so never a tracked param."""
    return int(os.environ.get("VIDEOSTAR_WORKERS") or os.cpu_count() or 1)


def decode(
    ref: ClipRef,
    num_frames: int,
    cache: FrameCache | None,
    info: clips.VideoInfo | None = None,
) -> clips.Clip:
    """The clip of ``ref``: from the cache, else decoded (and cached). Raises VideoError."""
    video, segment, fps = ref
    if cache is not None:
        cached = cache.get(video, num_frames, segment, fps)
        if cached is not None:
            return cached
    clip = clips.read_clip(video, num_frames, segment=segment, fps=fps, info=info)
    if cache is not None:
        cache.put(video, num_frames, segment, fps, clip)
    return clip


def _fill(job: tuple[ClipRef, int, FrameCache]) -> str | None:
    ref, num_frames, cache = job
    try:
        decode(ref, num_frames, cache)
    except clips.VideoError as e:
        return f"video: {e}"
    return None


class CachedClips(Mapping[ClipRef, clips.Clip]):
    """Clips by ref, each read from the frame cache when first asked for and kept in memory
    while the kept ones stay under ``held`` bytes (default ``$VIDEOSTAR_HELD_CLIPS_MB``, 1024):
    reading a small clip from its compressed entry costs about as much as a training step's
    share of it, and a clip is asked for once per question or example using it."""

    def __init__(
        self, refs: list[ClipRef], num_frames: int, cache: FrameCache, held: int | None = None
    ) -> None:
        self.refs, self.num_frames, self.cache = refs, num_frames, cache
        self._known = set(refs)
        self._held = Held(budget_bytes("VIDEOSTAR_HELD_CLIPS_MB") if held is None else held)

    def __getitem__(self, ref: ClipRef) -> clips.Clip:
        clip = self._held.get(ref)
        if clip is not None:
            return clip
        if ref not in self._known:
            raise KeyError(ref)
        clip = decode(ref, self.num_frames, self.cache)
        self._held.keep(ref, clip, clip.frames.nbytes)
        return clip

    def __contains__(self, ref: object) -> bool:
        return ref in self._known

    def __iter__(self) -> Iterator[ClipRef]:
        return iter(self.refs)

    def __len__(self) -> int:
        return len(self.refs)


class ClipItems(Sequence[tuple[Any, ...]]):
    """Items ``(clip, *rest)`` made from ``(ref, *rest)`` keys, each clip read (from the frame
    cache) only when its item is asked for, so a stage's memory does not grow with its rows."""

    def __init__(self, keys: list[tuple[Any, ...]], clips: Mapping[ClipRef, clips.Clip]) -> None:
        self.keys, self.clips = keys, clips

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [(self.clips[ref], *rest) for ref, *rest in self.keys[index]]
        ref, *rest = self.keys[index]
        return (self.clips[ref], *rest)

    def rests(self) -> list[tuple[Any, ...]]:
        """Every item without its clip, read without touching the clips."""
        return [tuple(rest) for _, *rest in self.keys]


def load_clips(
    refs: Iterable[ClipRef],
    num_frames: int,
    desc: str = "decode",
    cache: FrameCache | None | bool = True,
    workers: int | None = None,
    shard: Shard = ALONE,
) -> tuple[Mapping[ClipRef, clips.Clip], dict[ClipRef, str]]:
    """Return ({ref: clip}, {ref: reason}) for the distinct clips, in first-seen order.
    ``cache``: True for the frame cache of the environment, None/False for none. With several
    processes sharing a frame cache, only the main one decodes, and every process returns its
    errors (so all of them agree on which rows are usable)."""
    cache = FrameCache.from_env() if cache is True else (cache or None)
    unique = list(dict.fromkeys(refs))
    errors: dict[ClipRef, str] = {}
    if cache is not None and shard.world > 1:
        errors = shard.share(
            _fill_cache(unique, num_frames, desc, cache, workers) if shard.main else None
        )
        return CachedClips([r for r in unique if r not in errors], num_frames, cache), errors
    if cache is None:
        loaded: dict[ClipRef, clips.Clip] = {}
        for ref in tqdm(unique, desc=desc, unit="video", disable=len(unique) < 200):
            try:
                loaded[ref] = decode(ref, num_frames, None)
            except clips.VideoError as e:
                errors[ref] = f"video: {e}"
        return loaded, errors
    errors = _fill_cache(unique, num_frames, desc, cache, workers)
    return CachedClips([r for r in unique if r not in errors], num_frames, cache), errors


def _fill_cache(
    unique: list[ClipRef], num_frames: int, desc: str, cache: FrameCache, workers: int | None
) -> dict[ClipRef, str]:
    """Decode the clips missing from ``cache`` into it, in a pool; returns {ref: reason}."""
    missing = [r for r in unique if not cache.has(r[0], num_frames, r[1], r[2])]
    jobs = [(ref, num_frames, cache) for ref in missing]
    workers = min(default_workers() if workers is None else workers, len(jobs))
    bar = tqdm(total=len(jobs), desc=desc, unit="video", disable=len(jobs) < 200)
    if workers > 1 and len(jobs) >= POOL_MIN_CLIPS:
        # fork starts workers in milliseconds; the parent has loaded no model yet.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with multiprocessing.get_context(method).Pool(workers) as pool:
            results = []
            for result in pool.imap(_fill, jobs, chunksize=8):
                results.append(result)
                bar.update()
    else:
        results = []
        for job in jobs:
            results.append(_fill(job))
            bar.update()
    bar.close()
    errors = {ref: reason for ref, reason in zip(missing, results, strict=True) if reason}
    print(
        f"{desc}: {len(missing)} clips decoded, {len(unique) - len(missing)} from the frame cache"
    )
    return errors
