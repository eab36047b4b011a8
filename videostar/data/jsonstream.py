"""Read a JSON annotation file one top-level entry at a time, so memory does not grow with it.

Kinetics' DeepMind ``train.json`` (an object keyed by youtube_id) is hundreds of MB and STAR's
``STAR_train.json`` (a list of records) tens of thousands of records; ``json.load`` would hold
all of it at once. ijson parses the file incrementally instead.

    for key, record in jsonstream.entries(path, "object", "a Kinetics annotation JSON",
                                          expected="...", fits=is_record):
        ...                     # key: the object's key, or the list index for "list"

Numbers come back as ``int`` or ``float`` (never ``Decimal``), as ``json`` gives them. Errors are
AnnotationErrors naming the file: a file whose top level is not the expected list or object, or
whose first entries (up to SNIFF) include none that ``fits``, is another kind of file; a file that
breaks in the middle keeps what was yielded before the break and then names where it broke, so a
truncated download is never silently read as a shorter dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal

import ijson

from videostar.data.source import AnnotationError

# How many leading entries may fail ``fits`` before the file is judged another kind of file. The
# whole-file check json.load allowed ("is any entry a record?") cannot stream; a real file has
# records from its first entry on, so a malformed few at the start stay per-record rejects.
SNIFF = 100
_BOM = b"\xef\xbb\xbf"
_FOUND = {b"[": "a JSON list", b"{": "a JSON object", b"": "an empty file"}


class _Reader:
    """The file as ijson reads it, remembering which bytes the last chunk held, so a parse error
    can be placed in the file (the C parser does not report its offset)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.start = self.end = f.tell()

    def read(self, size: int = -1) -> bytes:
        self.start = self.f.tell()
        data = self.f.read(size)
        self.end = self.start + len(data)
        return data


def entries(
    path: Path,
    shape: Literal["list", "object"],
    what: str,
    expected: str,
    fits: Callable[[Any], bool],
) -> Iterator[tuple[int | str, Any]]:
    """``(index, value)`` of each item of a top-level list, or ``(key, value)`` of each member of
    a top-level object, lazily. ``what`` names the kind of file and ``expected`` its shape, for
    messages; ``fits`` tells whether a value looks like one of its records."""
    try:
        f = path.open("rb")
    except OSError as e:
        raise AnnotationError(f"{path}: cannot read {what}: {e}") from e
    with f:
        top = _first_byte(f)
        if top != (b"[" if shape == "list" else b"{"):
            found = _FOUND.get(top, "no JSON list or object")
            raise AnnotationError(f"{path}: not {what}: found {found}; expected {expected}")
        stream = _parse(path, _Reader(f), shape)
        head: list[tuple[int | str, Any]] = []
        broken = None
        try:
            for entry in stream:
                head.append(entry)
                if fits(entry[1]) or len(head) == SNIFF:
                    break
        except AnnotationError as e:
            broken = e
        if head and not any(fits(value) for _, value in head):
            raise AnnotationError(
                f"{path}: not {what}: none of its first {len(head)} entries is a record; "
                f"expected {expected}"
            )
        yield from head
        if broken is not None:
            raise broken
        yield from stream


def _first_byte(f: BinaryIO) -> bytes:
    """The first byte after a UTF-8 BOM and blanks; leaves ``f`` just after the BOM."""
    if f.read(3) != _BOM:
        f.seek(0)
    start = f.tell()
    while chunk := f.read(1 << 16):
        text = chunk.lstrip()
        if text:
            f.seek(start)
            return text[:1]
    f.seek(start)
    return b""


def _parse(path: Path, reader: _Reader, shape: str) -> Iterator[tuple[int | str, Any]]:
    if shape == "list":
        parsed = enumerate(ijson.items(reader, "item", use_float=True))
    else:
        parsed = ijson.kvitems(reader, "", use_float=True)
    count = 0
    try:
        for entry in parsed:
            yield entry
            count += 1
    except (ijson.JSONError, UnicodeDecodeError) as e:
        where = (
            f"at byte {reader.end}"
            if reader.start == reader.end
            else f"between bytes {reader.start} and {reader.end}"
        )
        raise AnnotationError(
            f"{path}: JSON breaks off after {count} entries ({where}): {_first_line(e)}"
        ) from e


def _first_line(error: Exception) -> str:
    # yajl's messages span lines (a context excerpt and a caret); bytes for bad UTF-8.
    message = error.args[0] if error.args else error
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return str(message).splitlines()[0] if str(message).strip() else type(error).__name__
