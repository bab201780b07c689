"""Numba kernels for dynamic time warping.  Arrays in, arrays out, no checks.

Series sets are passed as one flat C-contiguous array ``data`` of shape
``(total_length, n_dims)`` plus ``offsets`` (series ``i`` is
``data[offsets[i]:offsets[i+1]]``), the statsforecast-style boundary.  The Python layer
(:mod:`segmenter.distances.dtw`) validates inputs and converts them to this form.

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


@njit(cache=True, nogil=True)
def dtw_sq(a, b, radius, buf, cutoff=_INF):
    """Squared DTW cost between ``a`` (n, d) and ``b`` (m, d); ``buf`` holds 2*(m+1) floats.

    Early abandoning: returns ``inf`` as soon as every cell of a row exceeds ``cutoff``
    (every warping path crosses every row, and costs only grow along a path, so the
    result would exceed ``cutoff`` too).  With the default ``cutoff=inf`` it never does.
    """
    n = a.shape[0]
    m = b.shape[0]
    d = a.shape[1]
    lo_w, hi_w = band_widths(n, m, radius)
    prev = buf[: m + 1]
    cur = buf[m + 1 : 2 * (m + 1)]
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
        row_min = _INF
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
            if left < row_min:
                row_min = left
        if row_min > cutoff:
            return _INF
        tmp = prev
        prev = cur
        cur = tmp
    return prev[m]


# ----------------------------------------------------------------------------- lanes
#: Pairs computed together by :func:`dtw_sq_lanes`.  The lane loop is the innermost
#: loop with a run-time trip count, which LLVM's loop vectoriser turns into SIMD code
#: (8 float64 per AVX-512 register, interleaved 4 times, so 32 lanes fill one vector
#: iteration).  With fewer lanes, or a compile-time constant count, LLVM unrolls the loop
#: into scalar code instead (numba leaves the SLP vectoriser off): measured 5.5x slower.
LANES = 32


@njit(cache=True, nogil=True)
def _lanes_init(prev, W):
    for j in range(prev.shape[0]):
        for w in range(W):
            prev[j, w] = _INF
    for w in range(W):
        prev[0, w] = 0.0


@njit(cache=True, nogil=True, inline="always")
def _lanes_band_row(i, lo_w, hi_w, m, cur, W):
    """Columns of row ``i`` inside the band; resets the cells just outside it in ``cur``
    (the band only moves right, as in :func:`dtw_sq`)."""
    jlo = max(0, i - lo_w)
    jhi = min(m - 1, i + hi_w)
    for w in range(W):
        cur[jlo, w] = _INF
    if jhi + 2 <= m:
        for w in range(W):
            cur[jhi + 2, w] = _INF
    return jlo, jhi


@njit(cache=True, nogil=True)
def dtw_sq_lanes(a, P, radius, prev, cur, cost, res):
    """Squared DTW costs between ``a`` (n, d) and the ``LANES`` series packed in ``P``.

    ``P`` has shape (m, d, LANES): lane ``w`` is a series of length m.  ``prev`` and
    ``cur`` hold (m+1, LANES) floats, ``cost`` LANES floats; results go to ``res``.
    The arithmetic is the scalar kernel's, operation for operation, so the results are
    bitwise identical to :func:`dtw_sq`.
    """
    _lanes_dp(a, P, radius, prev, cur, cost, res, None)


@njit(cache=True, nogil=True)
def _lanes_dp(a, P, radius, prev, cur, cost, res, codes):
    """The lane DP shared by :func:`dtw_sq_lanes` (``codes`` None) and
    :func:`dtw_path_lanes` (which records predecessor codes).  Univariate series take
    separate row loops: a branch on ``d`` inside the cell loop measured 2.5x slower;
    the branches here run once per row (``codes is None`` is resolved at compile time).
    """
    n = a.shape[0]
    m = P.shape[0]
    d = a.shape[1]
    W = P.shape[2]
    lo_w, hi_w = band_widths(n, m, radius)
    _lanes_init(prev[: m + 1], W)
    for i in range(n):
        jlo, jhi = _lanes_band_row(i, lo_w, hi_w, m, cur, W)
        if codes is None:
            if d == 1:
                _lanes_row_1d(a[i, 0], P, prev, cur, jlo, jhi, W)
            else:
                _lanes_row_md(a[i], P, prev, cur, cost, jlo, jhi, W)
        else:
            if d == 1:
                _path_row_1d(a[i, 0], P, prev, cur, codes[i], jlo, jhi, W)
            else:
                _path_row_md(a[i], P, prev, cur, cost, codes[i], jlo, jhi, W)
        tmp = prev
        prev = cur
        cur = tmp
    for w in range(W):
        res[w] = prev[m, w]


@njit(cache=True, nogil=True)
def _lanes_row_1d(ai, P, prev, cur, jlo, jhi, W):
    for j in range(jlo, jhi + 1):
        pj = prev[j]
        pj1 = prev[j + 1]
        cj = cur[j]
        cj1 = cur[j + 1]
        Pj = P[j, 0]
        for w in range(W):
            diff = ai - Pj[w]
            best = pj[w]
            x = pj1[w]
            if x < best:
                best = x
            x = cj[w]
            if x < best:
                best = x
            cj1[w] = diff * diff + best


@njit(cache=True, nogil=True, inline="always")
def _lane_costs(ai, Pj, cost, W):
    """Squared frame distances from ``ai`` (d,) to the lanes of ``Pj`` (d, LANES), summed
    over dimensions in the scalar kernel's order."""
    for w in range(W):
        cost[w] = 0.0
    for k in range(ai.shape[0]):
        aik = ai[k]
        Pjk = Pj[k]
        for w in range(W):
            diff = aik - Pjk[w]
            cost[w] += diff * diff


@njit(cache=True, nogil=True)
def _lanes_row_md(ai, P, prev, cur, cost, jlo, jhi, W):
    for j in range(jlo, jhi + 1):
        pj = prev[j]
        pj1 = prev[j + 1]
        cj = cur[j]
        cj1 = cur[j + 1]
        _lane_costs(ai, P[j], cost, W)
        for w in range(W):
            best = pj[w]
            x = pj1[w]
            if x < best:
                best = x
            x = cj[w]
            if x < best:
                best = x
            cj1[w] = cost[w] + best


#: A block with fewer pairs to compute than this goes through the scalar kernel
#: (a 32-lane call costs about as much as 6 scalar ones).
_MIN_LANES = 6


@njit(cache=True)
def pack_lanes(data, offsets, order):
    """Pack the series ``order`` (sorted by length) into blocks of up to ``LANES``
    equal-length series, transposed so lanes are contiguous.

    Returns ``packed`` (sum of block lengths, d, LANES), ``boff`` (row offset of each
    block, nb+1), ``bstart`` (position in ``order`` of each block's first lane) and
    ``bcount`` (real lanes per block; the others repeat lane 0 and are ignored).
    Blocks of fewer than ``_MIN_LANES`` series always take the scalar kernel, so they
    get no rows (``boff[b] == boff[b+1]``): with many distinct lengths, packing every
    block would cost up to ``LANES`` times the data's memory.
    """
    n = order.shape[0]
    d = data.shape[1]
    nb = 0
    p = 0
    while p < n:
        m = offsets[order[p] + 1] - offsets[order[p]]
        c = 1
        while (
            c < LANES
            and p + c < n
            and offsets[order[p + c] + 1] - offsets[order[p + c]] == m
        ):
            c += 1
        nb += 1
        p += c
    bstart = np.empty(nb, dtype=np.int64)
    bcount = np.empty(nb, dtype=np.int64)
    boff = np.zeros(nb + 1, dtype=np.int64)
    b = 0
    p = 0
    while p < n:
        m = offsets[order[p] + 1] - offsets[order[p]]
        c = 1
        while (
            c < LANES
            and p + c < n
            and offsets[order[p + c] + 1] - offsets[order[p + c]] == m
        ):
            c += 1
        bstart[b] = p
        bcount[b] = c
        boff[b + 1] = boff[b] + (m if c >= _MIN_LANES else 0)
        b += 1
        p += c
    packed = np.empty((boff[nb], d, LANES))
    for b in range(nb):
        m = boff[b + 1] - boff[b]
        for w in range(LANES):
            s = order[bstart[b] + (w if w < bcount[b] else 0)]
            for t in range(m):
                for q in range(d):
                    packed[boff[b] + t, q, w] = data[offsets[s] + t, q]
    return packed, boff, bstart, bcount


@njit(cache=True, parallel=True)
def pairwise_sq(data, offsets, radius):
    """Symmetric matrix of squared DTW costs within one set (lane-vectorised)."""
    n = offsets.shape[0] - 1
    out = np.zeros((n, n))
    lengths = offsets[1:] - offsets[:-1]
    order = np.argsort(lengths, kind="mergesort")
    packed, boff, bstart, bcount = pack_lanes(data, offsets, order)
    nb = bcount.shape[0]
    block_of = np.empty(n, dtype=np.int64)
    for b in range(nb):
        for w in range(bcount[b]):
            block_of[bstart[b] + w] = b
    maxlen = 0
    for i in range(n):
        maxlen = max(maxlen, lengths[i])
    # sorted positions p and n-1-p go together so every task holds about n pairs
    half = (n + 1) // 2
    for t in prange(half):
        prev = np.empty((maxlen + 1, LANES))
        cur = np.empty((maxlen + 1, LANES))
        cost = np.empty(LANES)
        res = np.empty(LANES)
        buf = np.empty(2 * (maxlen + 1))
        for which in range(2):
            p = np.int64(t) if which == 0 else np.int64(n - 1 - t)
            if which == 1 and p == np.int64(t):
                break
            i = order[p]
            a = data[offsets[i] : offsets[i + 1]]
            for b in range(block_of[p], nb):
                q0 = bstart[b]
                first = max(q0, p + 1)  # lanes q > p are this row's pairs
                last = q0 + bcount[b]
                if last - first <= 0:
                    continue
                if last - first >= _MIN_LANES:
                    dtw_sq_lanes(
                        a, packed[boff[b] : boff[b + 1]], radius, prev, cur, cost, res
                    )
                    for q in range(first, last):
                        v = res[q - q0]
                        j = order[q]
                        out[i, j] = v
                        out[j, i] = v
                else:
                    for q in range(first, last):
                        j = order[q]
                        v = dtw_sq(a, data[offsets[j] : offsets[j + 1]], radius, buf)
                        out[i, j] = v
                        out[j, i] = v
    return out


@njit(cache=True, parallel=True)
def _cross_packed(data_x, off_x, data_y, off_y, radius):
    """out[i, j] = dtw_sq(x_i, y_j) with the y side packed into lanes."""
    nx = off_x.shape[0] - 1
    ny = off_y.shape[0] - 1
    out = np.empty((nx, ny))
    ly = off_y[1:] - off_y[:-1]
    order = np.argsort(ly, kind="mergesort")
    packed, boff, bstart, bcount = pack_lanes(data_y, off_y, order)
    nb = bcount.shape[0]
    maxlen = 0
    for j in range(ny):
        maxlen = max(maxlen, ly[j])
    for t in prange(nx * nb):
        i = np.int64(t) // nb
        b = np.int64(t) % nb
        a = data_x[off_x[i] : off_x[i + 1]]
        q0 = bstart[b]
        cnt = bcount[b]
        if cnt >= _MIN_LANES:
            prev = np.empty((maxlen + 1, LANES))
            cur = np.empty((maxlen + 1, LANES))
            cost = np.empty(LANES)
            res = np.empty(LANES)
            dtw_sq_lanes(a, packed[boff[b] : boff[b + 1]], radius, prev, cur, cost, res)
            for w in range(cnt):
                out[i, order[q0 + w]] = res[w]
        else:
            buf = np.empty(2 * (maxlen + 1))
            for w in range(cnt):
                j = order[q0 + w]
                out[i, j] = dtw_sq(a, data_y[off_y[j] : off_y[j + 1]], radius, buf)
    return out


def cross_sq(data_x, off_x, data_y, off_y, radius):
    """Matrix of squared DTW costs between two sets; the larger set goes into lanes
    (DTW is symmetric, bitwise, so either side may)."""
    if len(off_y) >= len(off_x):
        return _cross_packed(data_x, off_x, data_y, off_y, radius)
    return np.ascontiguousarray(_cross_packed(data_y, off_y, data_x, off_x, radius).T)


# ----------------------------------------------------------------------------- pruning
#: Lower bounds are scaled by this before pruning, so a bound that rounding pushed a few
#: ulps above the exact DTW cost of a near-tie never prunes the true nearest center.
_LB_SAFE = 1.0 - 1e-10


@njit(cache=True, nogil=True)
def lb_kim_sq(x, c):
    """LB_Kim: every warping path starts at (0, 0) and ends at (n-1, m-1)."""
    n = x.shape[0]
    m = c.shape[0]
    s = 0.0
    for k in range(x.shape[1]):
        diff = x[0, k] - c[0, k]
        s += diff * diff
    if n > 1 or m > 1:
        for k in range(x.shape[1]):
            diff = x[n - 1, k] - c[m - 1, k]
            s += diff * diff
    return s


@njit(cache=True, nogil=True)
def envelope(c, n, radius, up, lo, dq):
    """Band envelope of center ``c`` (m, d) for series of length ``n``.

    ``up[i, k]`` / ``lo[i, k]`` are the max / min of ``c[:, k]`` over the columns row
    ``i`` may reach (tslearn's band mask).  The band edges only move right, so
    monotone deques (``dq``: 2*m ints) give it in O(n + m).
    """
    m = c.shape[0]
    lo_w, hi_w = band_widths(n, m, radius)
    for k in range(c.shape[1]):
        hmax = 0
        tmax = 0
        hmin = 0
        tmin = 0
        nxt = 0
        for i in range(n):
            jlo = max(0, i - lo_w)
            jhi = min(m - 1, i + hi_w)
            while nxt <= jhi:
                v = c[nxt, k]
                while tmax > hmax and c[dq[tmax - 1], k] <= v:
                    tmax -= 1
                dq[tmax] = nxt
                tmax += 1
                while tmin > hmin and c[dq[m + tmin - 1], k] >= v:
                    tmin -= 1
                dq[m + tmin] = nxt
                tmin += 1
                nxt += 1
            while dq[hmax] < jlo:
                hmax += 1
            while dq[m + hmin] < jlo:
                hmin += 1
            up[i, k] = c[dq[hmax], k]
            lo[i, k] = c[dq[m + hmin], k]


@njit(cache=True, nogil=True)
def lb_keogh_sq(x, up, lo, cutoff):
    """LB_Keogh of ``x`` against an :func:`envelope`: every warping path visits every
    row at some column of its band, so the cost is at least the sum of squared
    distances from ``x[i, k]`` to ``[lo[i, k], up[i, k]]``.  Stops once above ``cutoff``."""
    s = 0.0
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            xv = x[i, k]
            if xv > up[i, k]:
                s += (xv - up[i, k]) * (xv - up[i, k])
            elif xv < lo[i, k]:
                s += (lo[i, k] - xv) * (lo[i, k] - xv)
        if s > cutoff:
            return s
    return s


@njit(cache=True, parallel=True)
def nearest_sq(data_x, off_x, data_c, off_c, radius, hint):
    """Nearest center of every series under DTW, pruned; equal to the brute-force
    ``argmin`` of :func:`cross_sq` (ties to the lowest center index).

    The series are packed into blocks of ``LANES`` equal-length series.  Per block the
    centers are visited in order: first the most common ``hint`` (e.g. the previous
    labels; -1 for none), then by the block's summed LB_Kim.  For each center and
    series, LB_Kim and then LB_Keogh are compared with the series' best cost so far; a
    series whose bound exceeds it never needs that center (ties resolve to the lower
    index, as ``argmin`` does).  When at least ``_MIN_LANES`` series of the block still
    need the center, one lane-vectorised call computes all of them; otherwise each runs
    the scalar kernel with early abandoning at its best cost.

    Returns labels, squared costs to the nearest center, and per-series counts of
    centers ``[pruned by LB_Kim, pruned by LB_Keogh, abandoned early, computed in
    full]`` (a center computed in full for a block's lanes counts as computed for every
    lane, even those a bound had ruled out).
    """
    nx = off_x.shape[0] - 1
    k = off_c.shape[0] - 1
    labels = np.empty(nx, dtype=np.int64)
    best_sq = np.empty(nx)
    stats = np.zeros((nx, 4), dtype=np.int64)
    order = np.argsort(off_x[1:] - off_x[:-1], kind="mergesort")
    packed, boff, bstart, bcount = pack_lanes(data_x, off_x, order)
    nb = bcount.shape[0]
    maxc = 0
    for c in range(k):
        maxc = max(maxc, off_c[c + 1] - off_c[c])
    for b in prange(nb):
        cnt = bcount[b]
        q0 = bstart[b]
        m = off_x[order[q0] + 1] - off_x[order[q0]]
        P = packed[boff[b] : boff[b + 1]]
        prev = np.empty((m + 1, LANES))
        cur = np.empty((m + 1, LANES))
        cost = np.empty(LANES)
        res = np.empty(LANES)
        buf = np.empty(2 * (maxc + 1))
        dq = np.empty(2 * maxc, dtype=np.int64)
        best = np.full(cnt, _INF)
        bj = np.full(cnt, -1, dtype=np.int64)
        kim = np.empty((cnt, k))
        key = np.zeros(k)
        votes = np.zeros(k)
        for w in range(cnt):
            i = order[q0 + w]
            x = data_x[off_x[i] : off_x[i + 1]]
            for c in range(k):
                kim[w, c] = lb_kim_sq(x, data_c[off_c[c] : off_c[c + 1]]) * _LB_SAFE
                key[c] += kim[w, c]
            if hint[i] >= 0:
                votes[hint[i]] += 1.0
        top = np.argmax(votes)
        if votes[top] > 0:
            key[top] = -1.0  # the commonest hint goes first
        visit = np.argsort(key)
        up = np.empty((m, data_x.shape[1]))
        lo = np.empty((m, data_x.shape[1]))
        how = np.empty(cnt, dtype=np.int64)  # 0: LB_Kim, 1: LB_Keogh, 2: needed
        for t in range(k):
            c = visit[t]
            ctr = data_c[off_c[c] : off_c[c + 1]]
            nneed = 0
            have_env = False
            for w in range(cnt):
                how[w] = 2
                lb = kim[w, c]
                if lb > best[w] or (lb == best[w] and c > bj[w]):
                    how[w] = 0
                elif best[w] < _INF and nneed < _MIN_LANES:
                    # (once enough lanes need the center, one lane call does them all)
                    if not have_env:
                        envelope(ctr, m, radius, up, lo, dq)
                        have_env = True
                    i = order[q0 + w]
                    lb = (
                        lb_keogh_sq(data_x[off_x[i] : off_x[i + 1]], up, lo, best[w])
                        * _LB_SAFE
                    )
                    if lb > best[w] or (lb == best[w] and c > bj[w]):
                        how[w] = 1
                if how[w] == 2:
                    nneed += 1
            if nneed >= _MIN_LANES:
                dtw_sq_lanes(ctr, P, radius, prev, cur, cost, res)
                for w in range(cnt):
                    stats[order[q0 + w], 3] += 1
                    v = res[w]
                    if v < best[w] or (v == best[w] and c < bj[w]):
                        best[w] = v
                        bj[w] = c
                continue
            for w in range(cnt):
                i = order[q0 + w]
                if how[w] < 2:
                    stats[i, how[w]] += 1
                    continue
                v = dtw_sq(data_x[off_x[i] : off_x[i + 1]], ctr, radius, buf, best[w])
                if v == _INF and best[w] < _INF:
                    stats[i, 2] += 1
                    continue
                stats[i, 3] += 1
                if v < best[w] or (v == best[w] and c < bj[w]):
                    best[w] = v
                    bj[w] = c
        for w in range(cnt):
            i = order[q0 + w]
            labels[i] = max(bj[w], 0)  # every cost overflowed to inf: argmin's 0
            best_sq[i] = best[w]
    return labels, best_sq, stats


@njit(cache=True, parallel=True)
def label_sq(data_x, off_x, data_c, off_c, labels, radius):
    """Squared DTW cost of every series to the center of its label."""
    nx = off_x.shape[0] - 1
    out = np.empty(nx)
    maxc = 0
    for c in range(off_c.shape[0] - 1):
        maxc = max(maxc, off_c[c + 1] - off_c[c])
    for i in prange(nx):
        buf = np.empty(2 * (maxc + 1))
        c = labels[i]
        out[i] = dtw_sq(
            data_x[off_x[i] : off_x[i + 1]],
            data_c[off_c[c] : off_c[c + 1]],
            radius,
            buf,
        )
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


@njit(cache=True, nogil=True, inline="always")
def _step(diag, up, left):
    """The cheapest predecessor and its code (0 diagonal, 1 up, 2 left), with
    :func:`dtw_path`'s tie order."""
    if diag <= up and diag <= left:
        return diag, 0
    if up <= left:
        return up, 1
    return left, 2


@njit(cache=True, nogil=True)
def dtw_path_lanes(a, P, radius, prev, cur, cost, codes, res):
    """Forward DTW of ``a`` (n, d) against the ``LANES`` series packed in ``P`` (m, d,
    LANES), recording at every cell which predecessor the optimal path comes from
    (``codes[i, j, w]``: 0 diagonal, 1 up, 2 left; ties as :func:`dtw_path`), so each
    lane's path can be traced back without the (n+1) x (m+1) cost matrix.  Buffers as
    :func:`dtw_sq_lanes`; total costs go to ``res``.
    """
    _lanes_dp(a, P, radius, prev, cur, cost, res, codes)


@njit(cache=True, nogil=True)
def _path_row_md(ai, P, prev, cur, cost, code_row, jlo, jhi, W):
    """One row of :func:`dtw_path_lanes` for multivariate series."""
    for j in range(jlo, jhi + 1):
        _lane_costs(ai, P[j], cost, W)
        pj = prev[j]
        pj1 = prev[j + 1]
        cl = cur[j]
        cj1 = cur[j + 1]
        code = code_row[j]
        for w in range(W):
            best, c = _step(pj[w], pj1[w], cl[w])
            code[w] = c
            cj1[w] = cost[w] + best


@njit(cache=True, nogil=True)
def _path_row_1d(ai, P, prev, cur, code_row, jlo, jhi, W):
    """One row of :func:`dtw_path_lanes` for univariate series (fused cost)."""
    for j in range(jlo, jhi + 1):
        pj = prev[j]
        pj1 = prev[j + 1]
        cl = cur[j]
        cj1 = cur[j + 1]
        Pj = P[j, 0]
        code = code_row[j]
        for w in range(W):
            diff = ai - Pj[w]
            best, c = _step(pj[w], pj1[w], cl[w])
            code[w] = c
            cj1[w] = diff * diff + best


@njit(cache=True, parallel=True)
def dba_update(data, offsets, members, center, radius):
    """One DBA step: average the frames of ``members`` aligned to ``center``.

    Members of equal length go through :func:`dtw_path_lanes` ``LANES`` at a time;
    the others (and small groups) through :func:`dtw_path`.  Both give the same paths.
    Returns the new center and the sum of squared DTW costs of the members.
    """
    L = center.shape[0]
    d = center.shape[1]
    nm = members.shape[0]
    lens = np.empty(nm, dtype=np.int64)
    for t in range(nm):
        lens[t] = offsets[members[t] + 1] - offsets[members[t]]
    order = members[np.argsort(lens, kind="mergesort")]
    packed, boff, bstart, bcount = pack_lanes(data, offsets, order)
    nb = bcount.shape[0]
    sums = np.zeros((nb, L, d))
    counts = np.zeros((nb, L))
    costs = np.zeros(nb)
    for b in prange(nb):
        cnt = bcount[b]
        q0 = bstart[b]
        if cnt >= _MIN_LANES:
            m = boff[b + 1] - boff[b]
            P = packed[boff[b] : boff[b + 1]]
            prev = np.empty((m + 1, LANES))
            cur = np.empty((m + 1, LANES))
            cost = np.empty(LANES)
            codes = np.empty((L, m, LANES), dtype=np.uint8)
            res = np.empty(LANES)
            dtw_path_lanes(center, P, radius, prev, cur, cost, codes, res)
            for w in range(cnt):
                costs[b] += res[w]
                i = L - 1
                j = m - 1
                while i >= 0 and j >= 0:
                    counts[b, i] += 1.0
                    for q in range(d):
                        sums[b, i, q] += P[j, q, w]
                    c = codes[i, j, w]
                    if c == 0:
                        i -= 1
                        j -= 1
                    elif c == 1:
                        i -= 1
                    else:
                        j -= 1
        else:
            for w in range(cnt):
                s = order[q0 + w]
                x = data[offsets[s] : offsets[s + 1]]
                pi, pj, cst = dtw_path(center, x, radius)
                costs[b] += cst
                for k in range(pi.shape[0]):
                    counts[b, pi[k]] += 1.0
                    for q in range(d):
                        sums[b, pi[k], q] += x[pj[k], q]
    tot = np.zeros((L, d))
    cnt_all = np.zeros(L)
    for b in range(nb):
        for p in range(L):
            cnt_all[p] += counts[b, p]
            for q in range(d):
                tot[p, q] += sums[b, p, q]
    new = center.copy()
    for p in range(L):
        if cnt_all[p] > 0:
            for q in range(d):
                new[p, q] = tot[p, q] / cnt_all[p]
    return new, costs.sum()
