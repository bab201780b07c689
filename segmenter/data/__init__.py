"""The data layer: validated panels (:mod:`.panel`), read from tables and files
(:mod:`.reading`) onto a regular time grid (:mod:`.timegrid`), series held in chunks by an engine
(:mod:`.chunks`), arrays of series for the kernels and models (:mod:`.series`) and
calendar facts of a time grid (:mod:`.calendar`)."""

from .calendar import season_length_for
from .chunks import ChunkedPanel, load_chunks
from .panel import Panel
from .reading import read_panel, read_table
from .series import SeriesSet, as_series_set, clean_history, interpolate_gaps

__all__ = [
    "Panel",
    "read_panel",
    "read_table",
    "ChunkedPanel",
    "load_chunks",
    "SeriesSet",
    "as_series_set",
    "clean_history",
    "interpolate_gaps",
    "season_length_for",
]
