"""Atomic file writes: a temporary file in the target's directory, then ``os.replace``.

A reader (or a later run) sees either the old file or the complete new one, never half
of one: an exception or a KeyboardInterrupt during the write removes the temporary
file and leaves the target untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from implicit_bias.encoding import to_jsonable


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success move it onto ``target``.

    The temporary name starts with a dot and ends in ``.tmp`` so it is never taken for
    an artifact; it is deleted if the block raises (KeyboardInterrupt included).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; artifacts are meant to be shared
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(target: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary binary file beside ``target``; it replaces ``target`` when the block ends."""
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def write_text_atomic(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_open(target) as fh:
        fh.write(text.encode("utf-8"))
    return Path(target)


def write_json_atomic(target: str | Path, value: Any) -> Path:
    """Write ``value`` as indented UTF-8 JSON (through :func:`to_jsonable`) atomically."""
    target = Path(target)
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(to_jsonable(value), fh, indent=2, ensure_ascii=False, allow_nan=False)
            fh.write("\n")
    return target


def write_parquet_atomic(target: str | Path, frame: Any) -> Path:
    """Write a pandas DataFrame as Parquet (pyarrow, no index) atomically.

    Object columns that pyarrow cannot type (mixed values) are written as strings
    rather than failing at the end of a long run.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
    frame = frame.rename(columns=str)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        fixed = frame.copy()
        for col in fixed.columns:
            if fixed[col].dtype == object:
                fixed[col] = fixed[col].map(lambda v: None if v is None else str(v))
        table = pa.Table.from_pandas(fixed, preserve_index=False)
    target = Path(target)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)
    return target
