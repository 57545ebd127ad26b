#!/usr/bin/env python3
"""
NumPy reference for bench/krum.ts: Multi-Krum on float32 updates with the Gram
identity (‖a‖² + ‖b‖² − 2a·b), as a NumPy + BLAS implementation would do it:
norms, G = X @ X.T (sgemm), D = n_i + n_j − 2G clipped at 0, then Krum scores
(sum of the n − f − 2 smallest off-diagonal distances per row), a stable
ranking and the mean of the m best. Timing only: the random data need not
match the TypeScript bench's. Prints one line per size with medians, and a
final JSON line (prefix "JSON ") that bench/krum.ts parses.

Usage: python3 bench/krum_numpy.py [runs]
"""
import json
import sys
import time

import numpy as np

SIZES = [(20, 10_000), (100, 1_000_000), (1_000, 100_000)]


def distances(x: np.ndarray) -> np.ndarray:
    norms = np.einsum("ij,ij->i", x, x)
    g = x @ x.T
    d = norms[:, None] + norms[None, :] - 2.0 * g
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def multi_krum(x: np.ndarray, f: int, m: int):
    n = x.shape[0]
    d = distances(x)
    k = n - f - 2
    # row-wise k smallest off-diagonal entries: the diagonal 0 is the smallest, skip it
    part = np.partition(d, k, axis=1)[:, : k + 1]
    scores = np.sort(part, axis=1)[:, 1:].sum(axis=1, dtype=np.float64)
    selected = np.sort(np.argsort(scores, kind="stable")[:m])
    aggregate = x[selected].mean(axis=0, dtype=np.float64)
    return selected, scores, aggregate


def median_of(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rng = np.random.default_rng(1)
    out = []
    for n, d in SIZES:
        x = rng.standard_normal((n, d), dtype=np.float32)
        f = (n - 3) // 4
        m = n - f
        t_dist = median_of(lambda: distances(x), runs)
        t_krum = median_of(lambda: multi_krum(x, f, m), runs)
        print(f"numpy n={n} d={d}: distances {t_dist:.3f} s, multiKrum {t_krum:.3f} s (median of {runs})")
        out.append({"n": n, "d": d, "distances": t_dist, "multiKrum": t_krum})
        del x
    cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = cfg.get("Build Dependencies", {}).get("blas", {}).get("name", "unknown") if isinstance(cfg, dict) else "unknown"
    print("JSON " + json.dumps({"numpy": np.__version__, "blas": blas, "runs": runs, "results": out}))


if __name__ == "__main__":
    main()
