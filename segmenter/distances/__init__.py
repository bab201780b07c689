"""Distances between series: dynamic time warping (numba kernels in ``_dtw_kernels``).

>>> from segmenter.distances import dtw_distance
>>> dtw_distance([0.0, 1.0, 2.0], [0.0, 0.0, 1.0, 2.0])
0.0
"""

from .dtw import band_radius, dtw_distance, dtw_pairwise

__all__ = ["dtw_distance", "dtw_pairwise", "band_radius"]
