"""Numba kernels for dynamic time warping.  Arrays in, arrays out, no checks.

Series sets are passed as one flat C-contiguous array ``data`` of shape
``(total_length, n_dims)`` plus ``offsets`` (series ``i`` is
``data[offsets[i]:offsets[i+1]]``), the statsforecast-style boundary.  The Python layer
(:mod:`segmenter.dtw`) validates inputs and converts them to this form.

The distance is tslearn's: the square root of the minimal sum of squared Euclidean
frame distances along a warping path.  The Sakoe-Chiba band of radius ``r`` follows
tslearn's mask for unequal lengths ``n`` (rows) and ``m`` (columns): cell ``(i, j)`` is
allowed when ``i - r - max(0, n - m) <= j <= i + r + max(0, m - n)``.  ``r < 0`` means
no band.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_INF = np.inf


@njit(cache=True, nogil=True)
def band_widths(n, m, radius):
    """How far below / above the diagonal row ``i`` may reach (tslearn's mask)."""
    if radius < 0:
        return n + m, n + m
    return radius + max(0, n - m), radius + max(0, m - n)


@njit(cache=True, nogil=True, fastmath=False)
def dtw_sq(a, b, radius, buf):
    """Squared DTW cost between ``a`` (n, d) and ``b`` (m, d); ``buf`` holds 2*(m+1) floats."""
    n = a.shape[0]
    m = b.shape[0]
    d = a.shape[1]
    lo_w, hi_w = band_widths(n, m, radius)
    prev = buf[:m + 1]
    cur = buf[m + 1:2 * (m + 1)]
    for j in range(m + 1):
        prev[j] = _INF
    prev[0] = 0.0
    for i in range(n):
        jlo = max(0, i - lo_w)
        jhi = min(m - 1, i + hi_w)
        # the band only moves right, so resetting the cells just outside it suffices
        cur[jlo] = _INF
        if jhi + 2 <= m:
            cur[jhi + 2] = _INF
        left = _INF
        for j in range(jlo, jhi + 1):
            c = 0.0
            for k in range(d):
                diff = a[i, k] - b[j, k]
                c += diff * diff
            best = prev[j]
            if prev[j + 1] < best:
                best = prev[j + 1]
            if left < best:
                best = left
            left = c + best
            cur[j + 1] = left
        tmp = prev
        prev = cur
        cur = tmp
    return prev[m]


@njit(cache=True, parallel=True)
def pairwise_sq(data, offsets, radius):
    """Symmetric matrix of squared DTW costs within one set."""
    n = offsets.shape[0] - 1
    out = np.zeros((n, n))
    maxlen = 0
    for i in range(n):
        maxlen = max(maxlen, offsets[i + 1] - offsets[i])
    # rows t and n-1-t go together so every task holds about n pairs (balanced prange)
    half = (n + 1) // 2
    for t in prange(half):
        buf = np.empty(2 * (maxlen + 1))
        for which in range(2):
            i = np.int64(t) if which == 0 else np.int64(n - 1 - t)
            if which == 1 and i == np.int64(t):
                break
            for j in range(i + 1, n):
                v = dtw_sq(data[offsets[i]:offsets[i + 1]], data[offsets[j]:offsets[j + 1]],
                           radius, buf)
                out[i, j] = v
                out[j, i] = v
    return out


@njit(cache=True, parallel=True)
def cross_sq(data_x, off_x, data_y, off_y, radius):
    """Matrix of squared DTW costs between two sets."""
    nx = off_x.shape[0] - 1
    ny = off_y.shape[0] - 1
    out = np.empty((nx, ny))
    maxlen = 0
    for j in range(ny):
        maxlen = max(maxlen, off_y[j + 1] - off_y[j])
    for t in prange(nx * ny):
        i = np.int64(t) // ny
        j = np.int64(t) % ny
        buf = np.empty(2 * (maxlen + 1))
        out[i, j] = dtw_sq(data_x[off_x[i]:off_x[i + 1]], data_y[off_y[j]:off_y[j + 1]],
                           radius, buf)
    return out


@njit(cache=True, nogil=True)
def dtw_path(a, b, radius):
    """Optimal warping path between ``a`` and ``b`` as two index arrays (for DBA)."""
    n = a.shape[0]
    m = b.shape[0]
    d = a.shape[1]
    lo_w, hi_w = band_widths(n, m, radius)
    acc = np.full((n + 1, m + 1), _INF)
    acc[0, 0] = 0.0
    for i in range(n):
        jlo = max(0, i - lo_w)
        jhi = min(m - 1, i + hi_w)
        for j in range(jlo, jhi + 1):
            c = 0.0
            for k in range(d):
                diff = a[i, k] - b[j, k]
                c += diff * diff
            best = acc[i, j]
            if acc[i, j + 1] < best:
                best = acc[i, j + 1]
            if acc[i + 1, j] < best:
                best = acc[i + 1, j]
            acc[i + 1, j + 1] = c + best
    pi = np.empty(n + m, dtype=np.int64)
    pj = np.empty(n + m, dtype=np.int64)
    i = n
    j = m
    k = 0
    while i > 0 and j > 0:
        pi[k] = i - 1
        pj[k] = j - 1
        k += 1
        diag = acc[i - 1, j - 1]
        up = acc[i - 1, j]
        left = acc[i, j - 1]
        if diag <= up and diag <= left:
            i -= 1
            j -= 1
        elif up <= left:
            i -= 1
        else:
            j -= 1
    return pi[:k][::-1].copy(), pj[:k][::-1].copy(), acc[n, m]


@njit(cache=True, parallel=True)
def dba_update(data, offsets, members, center, radius):
    """One DBA step: average the frames of ``members`` aligned to ``center``.

    Returns the new center and the sum of squared DTW costs of the members.
    """
    L = center.shape[0]
    d = center.shape[1]
    nm = members.shape[0]
    # per-thread accumulators avoided: accumulate per member, then reduce
    sums = np.zeros((nm, L, d))
    counts = np.zeros((nm, L))
    costs = np.zeros(nm)
    for t in prange(nm):
        s = members[t]
        x = data[offsets[s]:offsets[s + 1]]
        pi, pj, cost = dtw_path(center, x, radius)
        costs[t] = cost
        for k in range(pi.shape[0]):
            counts[t, pi[k]] += 1.0
            for q in range(d):
                sums[t, pi[k], q] += x[pj[k], q]
    tot = np.zeros((L, d))
    cnt = np.zeros(L)
    for t in range(nm):
        for p in range(L):
            cnt[p] += counts[t, p]
            for q in range(d):
                tot[p, q] += sums[t, p, q]
    new = center.copy()
    for p in range(L):
        if cnt[p] > 0:
            for q in range(d):
                new[p, q] = tot[p, q] / cnt[p]
    return new, costs.sum()
