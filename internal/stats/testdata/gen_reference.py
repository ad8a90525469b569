#!/usr/bin/env python3
"""Reference values for the tests of package stats, from SciPy, NumPy and
statsmodels rather than from the Go code under test.

Run from this directory with Debian 12's packages (python3-scipy 1.10.1,
python3-numpy 1.24.2, python3-statsmodels 0.13.5):

    python3 gen_reference.py > reference.json

The samples are fixed below or drawn from a seeded NumPy generator, so the
output is reproducible. The tests read reference.json; they never run this.
"""

import json
import math

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests

LEVELS = [0.8, 0.9, 0.95, 0.99, 0.999]


def median_order(n, level):
    """Largest k <= (n+1)//2 with P(B <= k-1) <= (1-level)/2, B ~ Bin(n, 1/2),
    and the coverage 1 - 2 P(B <= k-1); (0, 0) when k = 1 fails."""
    tail = (1 - level) / 2
    k = 0
    for cand in range(1, (n + 1) // 2 + 1):
        if stats.binom.cdf(cand - 1, n, 0.5) <= tail * (1 + 1e-12):
            k = cand
        else:
            break
    if k == 0:
        return 0, 0.0
    return k, float(1 - 2 * stats.binom.cdf(k - 1, n, 0.5))


def summary(name, values):
    x = np.sort(np.asarray(values, dtype=float))
    q1, q3, p95 = np.percentile(x, [25, 75, 95])  # linear: definition 7
    iqr = q3 - q1
    lo, hi = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    out = {
        "name": name,
        "values": [float(v) for v in values],
        "n": int(len(x)),
        "mean": float(np.mean(x)),
        "median": float(np.median(x)),
        "min": float(x[0]),
        "max": float(x[-1]),
        "stddev": sd,
        "cv": sd / abs(float(np.mean(x))),
        "q1": float(q1),
        "q3": float(q3),
        "p95": float(p95),
        "outliers": [float(v) for v in x if v < lo or v > hi],
        "ci": [],
    }
    for level in LEVELS:
        k, cov = median_order(len(x), level)
        ci = {"level": level, "lo_order": k, "coverage": cov}
        if k:
            ci["lo"], ci["hi"] = float(x[k - 1]), float(x[len(x) - k])
        out["ci"].append(ci)
    return out


def mwu(name, x, base):
    x = [float(v) for v in x]
    base = [float(v) for v in base]
    ties = len(set(x + base)) < len(x) + len(base)
    small = len(x) <= 25 and len(base) <= 25
    # The rule of stats.Compare: exact without ties for n <= 50; exact
    # conditional on the ties for n <= 25 (here by SciPy's permutation
    # test over every arrangement, two-sided as 2 min(P(<=), P(>=)));
    # else the normal approximation with tie and continuity corrections.
    if ties and small:
        def u(a, b):
            return stats.mannwhitneyu(a, b, method="asymptotic").statistic
        r = stats.permutation_test((x, base), u, permutation_type="independent",
                                   alternative="two-sided", n_resamples=np.inf,
                                   vectorized=False)
        return {"name": name, "x": x, "base": base, "method": "exact",
                "u": float(r.statistic), "p": float(r.pvalue)}
    exact = not ties and len(x) <= 50 and len(base) <= 50
    method = "exact" if exact else "asymptotic"
    r = stats.mannwhitneyu(x, base, alternative="two-sided", method=method,
                           use_continuity=True)
    return {"name": name, "x": x, "base": base,
            "method": "exact" if exact else "normal",
            "u": float(r.statistic), "p": float(r.pvalue)}


def main():
    rng = np.random.default_rng(20240601)
    out = {
        "generator": {"scipy": scipy.__version__, "numpy": np.__version__,
                      "statsmodels": statsmodels.__version__},
    }

    # Order-statistic intervals of the median by sample size and level.
    out["median_ci_table"] = []
    for level in LEVELS:
        for n in range(1, 61):
            k, cov = median_order(n, level)
            out["median_ci_table"].append(
                {"n": n, "level": level, "lo_order": k, "coverage": cov})
    out["min_samples"] = []
    for level in LEVELS + [0.5, 0.9375]:
        n = next(n for n in range(1, 200) if median_order(n, level)[0] > 0)
        out["min_samples"].append({"level": level, "n": n})

    sysbench = np.round(rng.normal(1500.0, 12.0, 30), 2)
    skewed = np.round(1.0 + rng.lognormal(-3.0, 0.8, 25), 4)
    out["summaries"] = [
        summary("sysbench-30", sysbench.tolist()),
        summary("skewed-25", skewed.tolist()),
        summary("outliers-12", [10.1, 10.3, 9.9, 10.0, 10.2, 10.1, 9.8, 10.4,
                                10.0, 10.2, 14.9, 3.0]),
        # 19.2 and 20.9 lie between the 1.5×IQR and 3×IQR fences.
        summary("mild-outliers-10", [20.0, 20.2, 20.1, 19.9, 20.3, 20.0, 20.1,
                                     19.8, 20.9, 19.2]),
        summary("small-5", [3.2, 3.1, 3.3, 3.0, 3.4]),
        summary("n6", [5.0, 1.0, 4.0, 2.0, 6.0, 3.0]),
        summary("n10", [0.52, 0.49, 0.51, 0.55, 0.47, 0.50, 0.53, 0.48,
                        0.54, 0.46]),
        summary("ties-9", [2, 2, 2, 3, 3, 3, 3, 4, 9]),
        summary("negative-7", [-4.5, -1.25, 0.5, -2.0, -3.75, -0.5, -6.0]),
        summary("high-cv-8", [1.0, 2.0, 1.5, 3.0, 0.8, 2.2, 1.1, 2.7]),
        summary("n2", [7.0, 9.0]),
    ]

    a30 = np.round(rng.normal(100.0, 3.0, 30), 3)
    b30 = np.round(rng.normal(103.0, 3.0, 30), 3)
    a50 = np.round(rng.normal(10.0, 1.0, 50), 4)
    b50 = np.round(rng.normal(10.4, 1.0, 50), 4)
    a60 = np.round(rng.normal(5.0, 0.5, 60), 4)
    b55 = np.round(rng.normal(5.2, 0.5, 55), 4)
    a4 = np.round(rng.normal(1.0, 0.1, 4), 4)
    b9 = np.round(rng.normal(1.1, 0.1, 9), 4)
    i40 = rng.integers(0, 8, 40)
    j40 = rng.integers(1, 9, 40)
    out["mann_whitney"] = [
        mwu("separated-3v3", [1.1, 2.3, 3.2], [4.5, 5.1, 6.0]),
        mwu("u2-5v5", [1, 2, 3, 4, 7], [5, 6, 8, 9, 10]),
        mwu("u3-5v5", [1, 2, 3, 5, 7], [4, 6, 8, 9, 10]),
        mwu("one-vs-five", [3.5], [1.0, 2.0, 4.0, 5.0, 6.0]),
        mwu("unequal-4v9", a4.tolist(), b9.tolist()),
        mwu("overlap-30v30", a30.tolist(), b30.tolist()),
        mwu("exact-50v50", a50.tolist(), b50.tolist()),
        mwu("normal-60v55", a60.tolist(), b55.tolist()),
        mwu("ties-5v5", [1, 2, 2, 3, 4], [2, 3, 3, 5, 6]),
        mwu("ties-ints-40v40", i40.tolist(), j40.tolist()),
        mwu("one-differs", [1, 1, 1, 1], [1, 1, 1, 2]),
        mwu("latency-steps-6v6", [710, 710, 720, 720, 720, 730],
            [740, 740, 750, 750, 760, 760]),
        mwu("two-values-6v6", [1] * 6, [2] * 6),
        mwu("overlapping-ties-6v6", [1, 2, 2, 2, 2, 3], [2, 2, 3, 3, 3, 3]),
        mwu("asymmetric-ties-2v4", [2, 1], [1, 1, 1, 1]),
        mwu("far-apart-20v20", list(range(1, 21)), list(range(101, 121))),
    ]

    # Percentile bootstrap of median(x)/median(base); the Go test runs its
    # own generator, so it compares within a tolerance.
    boot = []
    for name, x, base in [("sysbench-30v30", a30, b30),
                          ("skewed-25v30", skewed, sysbench / 1500.0)]:
        def ratio(xs, bs, axis=-1):
            return np.median(xs, axis=axis) / np.median(bs, axis=axis)
        r = stats.bootstrap((x, base), ratio, n_resamples=20000,
                            method="percentile", confidence_level=0.95,
                            vectorized=True, random_state=12345)
        boot.append({"name": name, "x": x.tolist(), "base": base.tolist(),
                     "level": 0.95, "resamples": 20000,
                     "ratio": float(np.median(x) / np.median(base)),
                     "lo": float(r.confidence_interval.low),
                     "hi": float(r.confidence_interval.high)})
    out["bootstrap"] = boot

    holm = []
    for name, p, alpha in [
            ("four", [0.01, 0.04, 0.03, 0.005], 0.05),
            ("six", [0.01, 0.04, 0.20, 0.03, 0.005, 0.07], 0.05),
            ("ties-and-ones", [0.02, 0.02, 1.0, 0.001, 0.5, 0.02], 0.1),
            ("random-12", rng.uniform(0, 0.05, 12).tolist(), 0.05)]:
        rej, adj, _, _ = multipletests(p, alpha=alpha, method="holm")
        holm.append({"name": name, "p": [float(v) for v in p], "alpha": alpha,
                     "reject": [bool(v) for v in rej],
                     "adjusted": [float(v) for v in adj]})
    out["holm"] = holm

    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
