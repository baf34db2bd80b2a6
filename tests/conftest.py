"""Test settings: headless plots, and the quick profile unless the caller chose one."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("GANLAB_QUICK", "1")  # inherited by nbval's kernels too
