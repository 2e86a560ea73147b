"""Imported by pytest before any test module: nnlab first, so its one-BLAS-thread
setting (nnlab.ONE_BLAS_THREAD) is in place before NumPy loads."""

import nnlab  # noqa: F401
