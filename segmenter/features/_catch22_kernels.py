"""catch22 on many series at once: sktime's numba feature kernels, driven in batch.

sktime's ``Catch22`` transformer computes the 22 features one series at a time through
its pandas-based ``BaseTransformer`` (about 3 ms per series, mostly Python overhead).
Here the same kernels (``sktime.transformations._catch22_numba``) run inside one
parallel numba loop over a ``(n_series, length)`` matrix, and the Fourier transforms
they need are computed for the whole matrix with one numpy call.  The two
outlier-timing features, three quarters of the kernels' time, use
:func:`_outlier_include`, an exact rewrite in O(n log n).

The values are sktime's to rounding (tested to 1e-12: a batched FFT or mean can differ
from a one-row one in the last bit), with one deliberate difference: sktime's
transformer stores a feature equal to exactly ``0.0`` as NaN (``value or None``); here
a zero stays a zero.

Arrays in, arrays out, no checks: :func:`segmenter.features.catch22_features` validates,
z-normalises and groups series by length.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from sktime.transformations import _catch22_numba as K

N_FEATURES = 22


def _nfft(length: int) -> int:
    """sktime's FFT size: the next power of two."""
    return int(np.power(2, np.ceil(np.log(length) / np.log(2))))


@njit(cache=True, inline="always")
def _kth(tree, n, log, k):
    """Position (1-based) of the k-th smallest element held in Fenwick tree ``tree``
    (size ``n``; ``log`` the largest power of two <= n)."""
    pos = 0
    step = log
    while step > 0:
        nxt = pos + step
        if nxt <= n and tree[nxt] < k:
            pos = nxt
            k -= tree[nxt]
        step >>= 1
    return pos + 1


@njit(fastmath=True, cache=True)
def _outlier_include(X):
    """sktime's ``_outlier_include`` (DN_OutlierInclude_p/n_001_mdrmd), bit for bit, in
    O((n + thresholds) log n) instead of O(n log n) per 0.01 threshold.

    Thresholds are visited from the highest down, so the set of time points at or above
    the threshold only grows: a Fenwick tree over positions gives its median position by
    binary lifting, and the mean gap of the sorted positions is (last - first) /
    (count - 1).  Same expressions and ``fastmath`` as sktime so values match exactly
    on NaN-free input (tested on thousands of series; callers never pass NaN)."""
    n = len(X)
    total = 0
    threshold = 0
    for v in X:
        if v >= 0:
            total += 1
            if v > threshold:
                threshold = v
    if threshold < 0.01:
        return 0
    num_thresholds = int(threshold / 0.01) + 1
    means = np.zeros(num_thresholds)
    dists = np.zeros(num_thresholds)
    medians = np.zeros(num_thresholds)
    order = np.argsort(-X, kind="mergesort")
    tree = np.zeros(n + 1, dtype=np.int64)  # Fenwick tree over positions 1..n
    log = 1
    while (log << 1) <= n:
        log <<= 1
    count = 0
    first = n + 1
    last = 0
    p = 0
    for i in range(num_thresholds - 1, -1, -1):
        d = i * 0.01
        while p < n and X[order[p]] >= d:
            pos = order[p] + 1
            j = pos
            while j <= n:
                tree[j] += 1
                j += j & -j
            count += 1
            if pos < first:
                first = pos
            if pos > last:
                last = pos
            p += 1
        if count == 0:
            continue
        if count == 1:
            means[i] = 9999999999
        else:
            means[i] = (last - first) / (count - 1)
        dists[i] = (count - 1) * 100 / total
        half = count >> 1
        # k-th smallest position (1-based k) by binary lifting
        if count & 1 == 0:
            a = _kth(tree, n, log, half)  # as numba's np.median: (a + b) / 2
            b = _kth(tree, n, log, half + 1)
            med = (a + b) / 2
        else:
            med = float(_kth(tree, n, log, half + 1))
        medians[i] = med / (n / 2) - 1
    mj = 0
    fbi = num_thresholds - 1
    for i in range(num_thresholds):
        if dists[i] > 2:
            mj = i
        if means[i] == 9999999999:
            fbi = num_thresholds - 1 - i
    trim_limit = max(mj, fbi)
    return np.median(medians[: trim_limit + 1])


@njit(cache=True)
def _power(F):
    """Row-wise ``F * conj(F)`` exactly as sktime computes it."""
    out = np.empty_like(F)
    for i in range(F.shape[0]):
        out[i] = K._multiply_complex_arr(F[i])
    return out


@njit(cache=True, parallel=True)
def _first_zeros(R, ca):
    """First zero crossing of each row's autocorrelation (``ca``: inverse FFT of power)."""
    out = np.empty(R.shape[0], dtype=np.int64)
    for i in prange(R.shape[0]):
        out[i] = K._ac_first_zero(K._get_acf(R[i], ca[i]))
    return out


@njit(cache=True, parallel=True)
def _features(X, smin, smax, smean, std, ca, F, resid_first_zero):
    n = X.shape[0]
    out = np.empty((n, 22))
    for i in prange(n):
        s = X[i]
        ac = K._get_acf(s, ca[i])
        z = K._ac_first_zero(ac)
        a, b, m, d = smin[i], smax[i], smean[i], std[i]
        out[i, 0] = K._DN_HistogramMode_5(s, a, b, m, d, s, ac, z)
        out[i, 1] = K._DN_HistogramMode_10(s, a, b, m, d, s, ac, z)
        out[i, 2] = K._SB_BinaryStats_diff_longstretch0(s, a, b, m, d, s, ac, z)
        out[i, 3] = _outlier_include(s)  # DN_OutlierInclude_p_001_mdrmd
        out[i, 4] = _outlier_include(-s)  # DN_OutlierInclude_n_001_mdrmd
        out[i, 5] = K._CO_f1ecac(s, a, b, m, d, s, ac, z)
        out[i, 6] = K._CO_FirstMin_ac(s, a, b, m, d, s, ac, z)
        out[i, 7] = K._summaries_welch_rect(s, False, F[i])
        out[i, 8] = K._summaries_welch_rect(s, True, F[i])
        out[i, 9] = K._FC_LocalSimple_mean3_stderr(s, a, b, m, d, s, ac, z)
        out[i, 10] = K._CO_trev_1_num(s, a, b, m, d, s, ac, z)
        out[i, 11] = K._CO_HistogramAMI_even_2_5(s, a, b, m, d, s, ac, z)
        out[i, 12] = K._IN_AutoMutualInfoStats_40_gaussian_fmmi(s, a, b, m, d, s, ac, z)
        out[i, 13] = K._MD_hrv_classic_pnn40(s, a, b, m, d, s, ac, z)
        out[i, 14] = K._SB_BinaryStats_mean_longstretch1(s, a, b, m, d, s, ac, z)
        out[i, 15] = K._SB_MotifThree_quantile_hh(s, a, b, m, d, s, ac, z)
        out[i, 16] = resid_first_zero[i] / z  # FC_LocalSimple_mean1_tauresrat
        out[i, 17] = K._CO_Embed2_Dist_tau_d_expfit_meandiff(s, a, b, m, d, s, ac, z)
        out[i, 18] = K._SC_FluctAnal_2_dfa_50_1_2_logi_prop_r1(s, a, b, m, d, s, ac, z)
        out[i, 19] = K._SC_FluctAnal_2_rsrangefit_50_1_logi(s, a, b, m, d, s, ac, z)
        out[i, 20] = K._SB_TransitionMatrix_3ac_sumdiagcov(s, a, b, m, d, s, ac, z)
        out[i, 21] = K._PD_PeriodicityWang_th0_01(s, a, b, m, d, s, ac, z)
    return out


def catch22_matrix(X: np.ndarray) -> np.ndarray:
    """The 22 features (sktime's order) of each row of ``X`` (n, length >= 3), float64,
    finite, not constant."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    length = X.shape[1]
    smean = X.mean(axis=1)
    F = np.fft.fft(X - smean[:, None], n=_nfft(length), axis=1)
    ca = np.fft.ifft(_power(F), axis=1)
    # FC_LocalSimple_mean1_tauresrat: autocorrelation of one-step-mean residuals
    R = np.ascontiguousarray(X[:, 1:] - X[:, :-1])
    FR = np.fft.fft(R - R.mean(axis=1)[:, None], n=_nfft(length - 1), axis=1)
    resid_first_zero = _first_zeros(R, np.fft.ifft(_power(FR), axis=1))
    return _features(
        X, X.min(axis=1), X.max(axis=1), smean, X.std(axis=1), ca, F, resid_first_zero
    )
