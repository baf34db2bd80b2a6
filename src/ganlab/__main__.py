"""``python -m ganlab``: see :mod:`ganlab.cli`."""

import sys

from .cli import main

sys.exit(main(prog="python -m ganlab"))
