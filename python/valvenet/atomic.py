"""Outputs written atomically: a temporary file in the output's own folder, renamed into place.

A command that fails halfway (a full disk, a device that stops answering, Ctrl-C) must leave
an earlier output as it was, never a half-written file under the final name. The temporary
file lies in the same folder so the rename is one filesystem operation (`os.replace`), and it
ends in the output's name so soundfile, Keras and numpy pick the same format (and it is
created as an ordinary file would be, so the output gets the usual permissions).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; when the block ends without an error the file
    written there replaces `path`, otherwise it is removed and `path` stays as it was."""
    path = Path(path)
    tmp = path.with_name(f".tmp{os.getpid()}.{path.name}")  # ends in the name: all its extensions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    """`path.write_bytes(data)`, atomically."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    """`path.write_text(text)` (UTF-8), atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_wav(path: str | Path, audio: Any, sample_rate: int, subtype: str = "FLOAT") -> None:
    """A WAV file (float32 by default), atomically."""
    import soundfile as sf

    with replacing(path) as tmp:
        sf.write(str(tmp), audio, sample_rate, subtype=subtype, format="WAV")
