"""The frame cache: each clip decoded once per sampling setting, read back identically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videostar.video import clips, frames
from videostar.video.cache import FrameCache


def _videos(folder: Path, n: int) -> list[str]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"v{i}.mp4"
        clips.write_video(path, rng.integers(0, 255, (12, 32, 32, 3), np.uint8), fps=6)
        paths.append(str(path))
    return paths


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    decoded: list[str] = []
    read_clip = clips.read_clip

    def counting(video, *args, **kwargs):
        decoded.append(str(video))
        return read_clip(video, *args, **kwargs)

    monkeypatch.setattr(clips, "read_clip", counting)
    return decoded


def test_each_clip_is_decoded_once_per_setting_and_reads_back_identically(tmp_path, counted):
    cache = FrameCache(tmp_path / "cache")
    videos = _videos(tmp_path, 3)
    refs = [(v, None, None) for v in videos] + [(videos[0], (0.5, 1.5), None)]
    refs.append((str(tmp_path / "missing.mp4"), None, None))
    first, errors = frames.load_clips(refs * 2, 4, cache=cache, workers=1)
    assert len(counted) == 5 and list(errors) == [refs[-1]]
    uncached, _ = frames.load_clips(refs, 4, cache=None)
    for ref in refs[:-1]:
        a, b = first[ref], uncached[ref]
        assert np.array_equal(a.frames, b.frames) and a.frames.dtype == np.uint8
        assert (a.indices, a.fps, a.length) == (b.indices, b.fps, b.length)
    counted.clear()
    again, _ = frames.load_clips(refs, 4, cache=cache, workers=1)
    [again[r] for r in refs[:-1]]
    assert counted == [refs[-1][0]]  # only the failing clip is tried again
    frames.load_clips(refs[:1], 6, cache=cache, workers=1)  # another setting: decoded again
    assert counted[-1] == videos[0]


def test_a_changed_video_is_decoded_again(tmp_path, counted):
    cache = FrameCache(tmp_path / "cache")
    (video,) = _videos(tmp_path, 1)
    before = frames.load_clips([(video, None, None)], 4, cache=cache)[0][(video, None, None)]
    clips.write_video(video, np.zeros((12, 32, 32, 3), np.uint8), fps=6)
    after = frames.load_clips([(video, None, None)], 4, cache=cache)[0][(video, None, None)]
    assert len(counted) == 2 and not np.array_equal(before.frames, after.frames)


def test_worker_processes_fill_the_cache_like_one_process(tmp_path):
    videos = _videos(tmp_path, frames.POOL_MIN_CLIPS)
    refs = [(v, None, None) for v in videos]
    pooled, _ = frames.load_clips(refs, 4, cache=FrameCache(tmp_path / "a"), workers=2)
    single, _ = frames.load_clips(refs, 4, cache=FrameCache(tmp_path / "b"), workers=1)
    for ref in refs:
        assert np.array_equal(pooled[ref].frames, single[ref].frames)


def test_a_torn_entry_is_decoded_again(tmp_path, counted):
    cache = FrameCache(tmp_path / "cache")
    (video,) = _videos(tmp_path, 1)
    frames.load_clips([(video, None, None)], 4, cache=cache)
    (entry,) = (tmp_path / "cache" / "clips").rglob("*.npz")
    entry.write_bytes(entry.read_bytes()[:100])
    got, errors = frames.load_clips([(video, None, None)], 4, cache=cache)
    assert not errors and got[(video, None, None)].frames.shape == (4, 32, 32, 3)
    assert len(counted) == 2


def test_clips_read_from_the_cache_are_held_up_to_the_budget(tmp_path, monkeypatch):
    cache = FrameCache(tmp_path / "cache")
    refs = [(v, None, None) for v in _videos(tmp_path, 3)]
    frames.load_clips(refs, 4, cache=cache, workers=1)
    reads: list[str] = []
    get = FrameCache.get

    def counting(self, video, *args):
        reads.append(video)
        return get(self, video, *args)

    monkeypatch.setattr(FrameCache, "get", counting)
    one_clip = 4 * 32 * 32 * 3
    held = frames.CachedClips(refs, 4, cache, held=2 * one_clip)
    first = [held[r] for r in refs]
    again = [held[r] for r in refs * 2]
    assert reads == [r[0] for r in refs] + [refs[2][0]] * 2  # the third is over the budget
    assert all(a is b for a, b in zip(first[:2], again[:2], strict=True))
    assert all(np.array_equal(a.frames, b.frames) for a, b in zip(first, again, strict=False))
    monkeypatch.setenv("VIDEOSTAR_HELD_CLIPS_MB", "0")
    reads.clear()
    none_held = frames.CachedClips(refs, 4, cache)
    [none_held[r] for r in refs * 2]
    assert len(reads) == 6
