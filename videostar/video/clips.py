"""Video I/O: deterministic mp4 writing, probing and uniform frame sampling.

    from videostar.video.clips import write_video, probe, read_frames
    write_video("clip.mp4", frames, fps=8)      # (T, H, W, 3) uint8
    info = probe("clip.mp4")                     # VideoInfo(num_frames=8, fps=8.0, ...)
    frames = read_frames("clip.mp4", 8)          # (8, H, W, 3) uint8, uniformly sampled
    clip = read_clip("clip.mp4", 8)              # the same frames, with their times (clip.times)

Decoding uses decord when it imports (x86-64 wheels only) and PyAV otherwise, or when decord
cannot open a file; both backends give identical frames for the clips written here. Every
failure is a ``VideoError`` whose message starts with the reason ("missing file", "empty file",
"cannot decode", "no frames") so callers can write it into a rejects file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

try:
    import decord
except ImportError:  # no ARM wheels: PyAV does the work instead
    decord = None

# libx264 at qp 0 in 4:4:4 is lossless in YUV: the toy world's 5 px balls on 32 px frames keep
# their colour to within a level or two, where 4:2:0 smears chroma across the ball's edge.
X264_PIX_FMT = "yuv444p"
X264_OPTIONS = {"qp": "0"}
# mpeg4 only takes 4:2:0; the finest quantiser keeps colours recognisable (max error ~12 levels).
MPEG4_PIX_FMT = "yuv420p"
MPEG4_OPTIONS = {"qmin": "1", "qmax": "1"}


class VideoError(Exception):
    """A video cannot be used; the message starts with the reason."""


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int
    fps: float
    duration: float
    width: int
    height: int


@dataclass(frozen=True, eq=False)
class Clip:
    """Frames sampled from a clip, and where they lie in it.

    Frame k of ``frames`` is the clip's frame ``indices[k]``, ``indices[k] / fps`` seconds after
    the clip's start; the clip (the whole video, or its segment) has ``length`` frames. Models
    that write timestamps into their prompts (Qwen2.5/3-VL, SmolVLM2) read them from here.
    """

    frames: np.ndarray
    indices: tuple[int, ...]
    fps: float
    length: int

    @property
    def times(self) -> list[float]:
        return [i / self.fps for i in self.indices]

    def metadata(self) -> dict[str, Any]:
        """The clip as transformers' ``VideoMetadata`` describes a sampled video."""
        return {
            "total_num_frames": self.length,
            "fps": self.fps,
            "duration": self.length / self.fps,
            "frames_indices": list(self.indices),
        }


def default_codec() -> str:
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def write_video(path: str | Path, frames: np.ndarray, fps: int, codec: str | None = None) -> None:
    """Encode (T, H, W, 3) uint8 frames as mp4; the same frames always give the same bytes.

    ``codec`` defaults to libx264, or mpeg4 where this FFmpeg build lacks it. The file is
    written next to ``path`` and renamed, so an interrupted run never leaves a half file.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(
            f"frames must be a non-empty (T, H, W, 3) uint8 array, got {frames.shape} {frames.dtype}"
        )
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(f"frame size must be even for the encoder, got {width}x{height}")
    codec = codec or default_codec()
    pix_fmt, options = (
        (X264_PIX_FMT, X264_OPTIONS) if codec == "libx264" else (MPEG4_PIX_FMT, MPEG4_OPTIONS)
    )

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        # format="mp4" because the temp name has no .mp4 suffix; the mov muxer writes no
        # creation time unless asked, and one encoder thread makes x264's output reproducible.
        with av.open(tmp, "w", format="mp4") as container:
            stream = container.add_stream(codec, rate=Fraction(fps))
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            stream.options = dict(options)
            stream.thread_count = 1
            for index, array in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
                frame.pts = index
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"missing file: {path}")
    if path.stat().st_size == 0:
        raise VideoError(f"empty file: {path}")
    return path


FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")


def frame_files(folder: Path) -> list[tuple[int, Path]]:
    """(frame number, path) of every frame image of a frame folder, by number. Names hold
    absolute frame numbers of any width (``00012.jpg``, ``12.jpg``, ``img_12.jpg``)."""
    numbered = []
    for path in folder.iterdir():
        digits = "".join(c for c in path.stem if c.isdigit())
        if path.suffix.lower() in FRAME_SUFFIXES and digits:
            numbered.append((int(digits), path))
    return sorted(numbered)


def _probe_folder(folder: Path, fps: float | None) -> VideoInfo:
    """Frame k of the folder's timeline is at (k - the first frame's number) / fps seconds, so
    missing frames leave gaps instead of shifting the later ones."""
    if not fps or fps <= 0:
        raise VideoError(f"cannot decode: frame folder {folder} needs its frame rate (fps)")
    frames = frame_files(folder)
    if not frames:
        raise VideoError(f"no frames: {folder}")
    try:
        with Image.open(frames[0][1]) as image:
            width, height = image.size
    except OSError as e:
        raise VideoError(f"cannot decode: {frames[0][1]}: {e}") from e
    span = frames[-1][0] - frames[0][0] + 1
    return VideoInfo(len(frames), float(fps), span / fps, width, height)


def probe(path: str | Path, fps: float | None = None) -> VideoInfo:
    """Frame count, frame rate, duration (s) and size of the first video stream, or of a folder
    of frame images (``fps`` gives a folder's frame rate; a video file's is read from it)."""
    if Path(path).is_dir():
        return _probe_folder(Path(path), fps)
    path = _check_file(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoError(f"cannot decode: no video stream in {path}")
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            num_frames = stream.frames
            if num_frames <= 0:  # some containers do not store a count: decode to find it
                num_frames = sum(1 for _ in container.decode(stream))
            width, height = stream.codec_context.width, stream.codec_context.height
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = num_frames / fps if fps else 0.0
    except av.FFmpegError as e:
        raise VideoError(f"cannot decode: {path}: {e}") from e
    if num_frames <= 0:
        raise VideoError(f"no frames: {path}")
    return VideoInfo(num_frames=num_frames, fps=fps, duration=duration, width=width, height=height)


def sample_indices(total: int, num: int) -> list[int]:
    """``num`` frame indices spread uniformly over ``total`` frames, first and last included.

    Same rule as Video-LLaVA's loader (linspace over [0, total - 1], truncated); when the clip
    has fewer frames than asked for, frames repeat.
    """
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    if num <= 0:
        raise ValueError(f"num must be positive, got {num}")
    return [int(i) for i in np.linspace(0, total - 1, num)]


def _stack(arrays: list[np.ndarray], where: str | Path) -> np.ndarray:
    """(T, H, W, 3) from frames that must share one size (a stream may change it midway)."""
    if len({a.shape for a in arrays}) > 1:
        raise VideoError(f"cannot decode: frames of different sizes in {where}")
    return np.stack(arrays)


def decord_clip(path: str | Path, num_frames: int) -> Clip:
    """Uniformly sampled frames via decord (RuntimeError when decord is not installed)."""
    if decord is None:
        raise RuntimeError("decord is not installed")
    path = _check_file(path)
    try:
        reader = decord.VideoReader(str(path), num_threads=1)
        if len(reader) == 0:
            raise VideoError(f"no frames: {path}")
        wanted = sample_indices(len(reader), num_frames)
        frames = reader.get_batch(wanted).asnumpy()
        return Clip(frames, tuple(wanted), float(reader.get_avg_fps()), len(reader))
    # decord reports unreadable files as a bare RuntimeError
    except (decord.DECORDError, RuntimeError) as e:
        raise VideoError(f"cannot decode: {path}: {e}") from e


def read_frames_decord(path: str | Path, num_frames: int) -> np.ndarray:
    return decord_clip(path, num_frames).frames


def _pyav_pick(path: Path, wanted: list[int]) -> tuple[dict[int, np.ndarray], int]:
    """Decode up to frame max(wanted); return the wanted frames and how many frames decoded."""
    picked: dict[int, np.ndarray] = {}
    decoded = 0
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            decoded = index + 1
            if index in wanted:
                picked[index] = frame.to_ndarray(format="rgb24")
            if index >= wanted[-1]:
                break
    return picked, decoded


def pyav_clip(path: str | Path, num_frames: int) -> Clip:
    """Uniformly sampled frames via PyAV; decodes sequentially up to the last frame needed."""
    info = probe(path)
    path = Path(path)
    length = info.num_frames
    try:
        wanted = sample_indices(length, num_frames)
        picked, decoded = _pyav_pick(path, wanted)
        if decoded <= wanted[-1]:  # the stored frame count overstated what decodes
            if decoded == 0:
                raise VideoError(f"no frames: {path}")
            length = decoded
            wanted = sample_indices(length, num_frames)
            picked, _ = _pyav_pick(path, wanted)
    except av.FFmpegError as e:
        raise VideoError(f"cannot decode: {path}: {e}") from e
    # A stream that stores no rate gets one frame per second: times then count frames.
    frames = _stack([picked[i] for i in wanted], path)
    return Clip(frames, tuple(wanted), info.fps or 1.0, length)


def read_frames_pyav(path: str | Path, num_frames: int) -> np.ndarray:
    return pyav_clip(path, num_frames).frames


def clamp_segment(
    segment: tuple[float, float] | list[float] | None, info: VideoInfo
) -> tuple[float, float] | None:
    """A [start, end] segment in seconds, its end clamped to the video's length; None for the
    whole video. Raises VideoError when nothing of it lies inside the video."""
    if segment is None:
        return None
    try:
        start, end = float(segment[0]), min(float(segment[1]), info.duration)
    except (TypeError, ValueError, IndexError):
        raise VideoError(f"bad segment {segment!r}: expected [start, end] seconds") from None
    if not 0 <= start < end:
        raise VideoError(
            f"empty segment: [{segment[0]}, {segment[1]}] s in a {info.duration:.3f} s video"
        )
    return start, end


def _segment_frames(total: int, fps: float, segment: tuple[float, float] | None) -> range:
    """The frame indices of ``segment`` (all frames when None), at least one."""
    if segment is None:
        return range(total)
    first = min(total - 1, int(segment[0] * fps))
    last = max(first + 1, min(total, int(np.ceil(segment[1] * fps))))
    return range(first, last)


def _read_folder(
    folder: Path, num_frames: int, segment: tuple[float, float] | None, info: VideoInfo
) -> Clip:
    # Missing frames are tolerated (frame dumps are often incomplete): sample among the frames
    # present in the segment, on the folder's timeline (see _probe_folder).
    files = frame_files(folder)
    origin = files[0][0]
    length = files[-1][0] - origin + 1
    if segment is not None:
        low, high = origin + segment[0] * info.fps, origin + segment[1] * info.fps
        files = [(n, p) for n, p in files if low <= n < high]
        if not files:
            raise VideoError(f"no frames: {folder} holds none in [{segment[0]}, {segment[1]}] s")
        origin = int(np.ceil(low))
        length = int(np.ceil(high)) - origin
    picked = [files[i] for i in sample_indices(len(files), num_frames)]
    try:
        arrays = [np.asarray(Image.open(p).convert("RGB")) for _, p in picked]
    except OSError as e:
        raise VideoError(f"cannot decode: {folder}: {e}") from e
    return Clip(_stack(arrays, folder), tuple(n - origin for n, _ in picked), info.fps, length)


def read_clip(
    path: str | Path,
    num_frames: int,
    segment: tuple[float, float] | None = None,
    fps: float | None = None,
    info: VideoInfo | None = None,
) -> Clip:
    """``num_frames`` frames uniformly sampled from the whole video or from ``segment`` ([start,
    end] seconds), with their times in it; decord first, PyAV as the fallback. A folder of frame
    images is read directly, with ``fps`` its frame rate. ``info``: the video's ``probe``, when
    the caller has it already (saves probing it again)."""
    try:
        is_folder = Path(path).is_dir()
    except (OSError, ValueError) as e:  # a NUL byte or an overlong name in the path
        raise VideoError(f"missing file: unusable path {str(path)[:80]!r}: {e}") from None
    if is_folder:
        info = info or _probe_folder(Path(path), fps)
        return _read_folder(Path(path), num_frames, clamp_segment(segment, info), info)
    _check_file(path)
    if segment is not None:
        info = info or probe(path)
        span = _segment_frames(info.num_frames, info.fps, clamp_segment(segment, info))
        return _read_span(path, num_frames, span, info.fps)
    if decord is None:
        return pyav_clip(path, num_frames)
    try:
        return decord_clip(path, num_frames)
    except VideoError as decord_error:
        try:
            return pyav_clip(path, num_frames)
        except VideoError as pyav_error:
            raise VideoError(f"{pyav_error} (decord: {decord_error})") from pyav_error


def read_frames(
    path: str | Path,
    num_frames: int,
    segment: tuple[float, float] | None = None,
    fps: float | None = None,
    info: VideoInfo | None = None,
) -> np.ndarray:
    """(num_frames, H, W, 3) uint8: the frames of ``read_clip``."""
    return read_clip(path, num_frames, segment, fps, info).frames


def _read_span(path: str | Path, num_frames: int, span: range, fps: float) -> Clip:
    wanted = [span[i] for i in sample_indices(len(span), num_frames)]
    indices = tuple(i - span.start for i in wanted)
    if decord is not None:
        try:
            reader = decord.VideoReader(str(path), num_threads=1)
            frames = reader.get_batch([min(i, len(reader) - 1) for i in wanted]).asnumpy()
            return Clip(frames, indices, fps, len(span))
        except (decord.DECORDError, RuntimeError):
            pass  # PyAV below reports the error if it cannot decode either
    try:
        picked, decoded = _pyav_pick(Path(path), wanted)
    except av.FFmpegError as e:
        raise VideoError(f"cannot decode: {path}: {e}") from e
    if not picked:
        raise VideoError(f"no frames: {path} has {decoded} frames, the segment starts later")
    last = picked[max(picked)]
    frames = _stack([picked.get(i, last) for i in wanted], path)
    return Clip(frames, indices, fps, len(span))
