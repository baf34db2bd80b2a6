"""Test settings: headless plots, and the quick profile unless the caller chose one."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GANLAB_QUICK", "1")  # inherited by nbval's kernels too
# One torch thread: the toy networks are too small to gain from two, and on a shared 2-core
# machine two threads per process oversubscribe the cores (measured: ~3x slower notebooks).
os.environ.setdefault("OMP_NUM_THREADS", "1")
