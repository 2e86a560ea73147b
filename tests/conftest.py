"""Imported by pytest before any test module: nnlab first, so its one-BLAS-thread
setting (nnlab.ONE_BLAS_THREAD) is in place before NumPy loads."""

import os

# No progress bar from train's default in the kernels nbval starts (they inherit this):
# the saved notebooks must not change because a run was slow on a busy machine.
os.environ.setdefault("NNLAB_PROGRESS", "0")

import nnlab  # noqa: F401,E402

import pytest  # noqa: E402


@pytest.fixture(params=["small-net sums", "large-net sums"])
def sums(request, monkeypatch):
    """The telemetry recorder's two ways of summing (see nnlab.telemetry): the small-net
    one (float64 copies), and the large-net one (one dot product per parameter; float32
    activations summed after a shift, falling back to float64), forced here on a small net."""
    if request.param == "large-net sums":
        monkeypatch.setattr(nnlab.telemetry, "DOT_PER_PARAMETER", 0)
        monkeypatch.setattr(nnlab.telemetry, "SHIFTED_FLOAT32", 0)
    return request.param
