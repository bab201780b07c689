"""Progress bars for long work (tqdm on standard error)."""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(total: int, desc: str, progress: bool | None = None):
    """A tqdm bar on stderr.

    ``progress=None`` shows it only when stderr is a terminal (tqdm's ``disable=None``);
    True always, False never.
    """
    from tqdm.auto import tqdm

    disable = None if progress is None else not progress
    return tqdm(total=total, desc=desc, disable=disable, leave=False, unit="fit")
