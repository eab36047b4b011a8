"""Fast tests of videostar.video: round trip, byte-determinism, both decoders, failure reasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videostar.video import clips as video
from videostar.video.clips import VideoError, probe, read_frames, sample_indices, write_video


def moving_square(frames: int = 8, size: int = 32) -> np.ndarray:
    clip = np.full((frames, size, size, 3), 10, dtype=np.uint8)
    for t in range(frames):
        x = 2 + 2 * (t % 10)
        clip[t, 10:18, x : x + 8] = (220, 40, 40)
        clip[t, 0:2, 0:2] = 12 * t  # each frame distinguishable, to check which ones were sampled
    return clip


def test_round_trip(tmp_path: Path) -> None:
    clip = moving_square()
    path = tmp_path / "sub" / "clip.mp4"
    write_video(path, clip, fps=8)

    info = probe(path)
    assert (info.num_frames, info.fps, info.width, info.height) == (8, 8.0, 32, 32)
    assert info.duration == pytest.approx(1.0)

    decoded = read_frames(path, 8)
    assert decoded.shape == (8, 32, 32, 3) and decoded.dtype == np.uint8
    # libx264 4:4:4 at qp 0 is lossless in YUV; only the RGB<->YUV rounding remains.
    assert np.abs(decoded.astype(int) - clip).max() <= 3
    assert not list(tmp_path.joinpath("sub").glob(".*.tmp")), "temp file left behind"


def test_read_frames_samples_uniformly(tmp_path: Path) -> None:
    clip = moving_square(frames=16)
    path = tmp_path / "clip.mp4"
    write_video(path, clip, fps=8)
    decoded = read_frames(path, 4)
    expected = clip[sample_indices(16, 4)]
    assert np.abs(decoded.astype(int) - expected).max() <= 3


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_write_video_is_byte_deterministic(tmp_path: Path, codec: str) -> None:
    clip = moving_square()
    write_video(tmp_path / "a.mp4", clip, fps=8, codec=codec)
    write_video(tmp_path / "b.mp4", clip.copy(), fps=8, codec=codec)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert read_frames(tmp_path / "a.mp4", 8).shape == (8, 32, 32, 3)


def test_write_video_rejects_bad_arrays(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_video(tmp_path / "x.mp4", np.zeros((2, 32, 32, 3), dtype=np.float32), fps=8)
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "x.mp4", np.zeros((2, 31, 32, 3), dtype=np.uint8), fps=8)


@pytest.mark.skipif(video.decord is None, reason="decord is not installed")
def test_decord_and_pyav_give_identical_frames(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, moving_square(frames=12), fps=8, codec="libx264")
    for num in (1, 5, 8, 20):
        assert np.array_equal(
            video.read_frames_decord(path, num), video.read_frames_pyav(path, num)
        )


def test_read_frames_falls_back_to_pyav_without_decord(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, moving_square(), fps=8)
    expected = video.read_frames_pyav(path, 8)
    monkeypatch.setattr(video, "decord", None)
    assert np.array_equal(read_frames(path, 8), expected)
    with pytest.raises(RuntimeError, match="decord is not installed"):
        video.read_frames_decord(path, 8)


def corrupt_files(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.mp4"
    write_video(good, moving_square(), fps=8)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    empty = tmp_path / "empty.mp4"
    empty.touch()
    return {
        "missing file": tmp_path / "nope.mp4",
        "empty file": empty,
        "cannot decode": truncated,
        "cannot decode ": junk,
    }


@pytest.mark.parametrize(
    "reader",
    [
        probe,
        lambda p: read_frames(p, 8),
        lambda p: video.read_frames_pyav(p, 8),
        pytest.param(
            lambda p: video.read_frames_decord(p, 8),
            marks=pytest.mark.skipif(video.decord is None, reason="decord is not installed"),
        ),
    ],
    ids=["probe", "read_frames", "pyav", "decord"],
)
def test_unusable_files_raise_video_error_with_reason(tmp_path: Path, reader) -> None:
    for reason, path in corrupt_files(tmp_path).items():
        with pytest.raises(VideoError, match=f"^{reason.strip()}"):
            reader(path)


def test_sample_indices_edges() -> None:
    assert sample_indices(8, 8) == list(range(8))
    assert sample_indices(1, 4) == [0, 0, 0, 0]
    assert sample_indices(100, 1) == [0]
    many = sample_indices(300, 8)
    assert many[0] == 0 and many[-1] == 299 and many == sorted(set(many))
    few = sample_indices(3, 8)
    assert len(few) == 8 and set(few) == {0, 1, 2} and few == sorted(few)
    for total, num in ((0, 8), (8, 0), (-1, 3)):
        with pytest.raises(ValueError):
            sample_indices(total, num)


def test_clips_carry_the_sampled_frames_times(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, moving_square(frames=16), fps=8)  # 2 s
    clip = video.read_clip(path, 4)
    assert np.array_equal(clip.frames, read_frames(path, 4))
    assert (clip.indices, clip.fps, clip.length) == ((0, 5, 10, 15), 8.0, 16)
    assert clip.times == [0.0, 0.625, 1.25, 1.875]
    assert clip.metadata() == {
        "total_num_frames": 16,
        "fps": 8.0,
        "duration": 2.0,
        "frames_indices": [0, 5, 10, 15],
    }
    # a segment is its own clip: times count from its start
    part = video.read_clip(path, 4, segment=(1.0, 2.0))
    assert (part.indices, part.length) == ((0, 2, 4, 7), 8)
    assert part.times == [0.0, 0.25, 0.5, 0.875]


def test_both_decoders_give_the_same_times(tmp_path: Path) -> None:
    if video.decord is None:
        pytest.skip("decord is not installed")
    path = tmp_path / "clip.mp4"
    write_video(path, moving_square(frames=12), fps=6)
    a, b = video.decord_clip(path, 5), video.pyav_clip(path, 5)
    assert (a.indices, a.fps, a.length) == (b.indices, b.fps, b.length)


def test_frame_folder_clips_keep_gaps_in_time(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for t in (3, 4, 6, 7, 8, 10):  # 5 and 9 missing
        Image.fromarray(np.full((8, 8, 3), 20 * t, dtype=np.uint8)).save(folder / f"{t:05d}.png")
    whole = video.read_clip(folder, 6, fps=2)
    assert whole.indices == (0, 1, 3, 4, 5, 7) and whole.length == 8
    assert whole.times == [0.0, 0.5, 1.5, 2.0, 2.5, 3.5]
    part = video.read_clip(folder, 2, segment=(1.0, 2.5), fps=2)  # frame numbers [5, 8): 6, 7
    assert (part.indices, part.length) == ((1, 2), 3)


@pytest.mark.parametrize("path", ["\x00", "word " * 100], ids=["nul-byte", "too-long"])
def test_an_unusable_path_is_a_video_error_not_a_crash(path: str, tmp_path: Path) -> None:
    from videostar.video import frames
    from videostar.video.cache import FrameCache

    with pytest.raises(VideoError, match="missing file"):
        video.read_clip(path, 4)
    _, errors = frames.load_clips([(path, None, None)], 4, cache=FrameCache(tmp_path / "c"))
    assert list(errors.values())[0].startswith("video: missing file")
