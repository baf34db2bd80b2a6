"""Self-checks for the exercises: call one with your function and read the verdict.

Each check runs your code on inputs with a known answer and returns a :class:`Check` that is
truthy when you are right and otherwise says what looks wrong, with a hint. On a stub (a function
that still raises ``NotImplementedError``, or returns ``None`` or ``...``) it says "not answered
yet" and gives no hint. One module per chapter (``ch04`` for chapter 4, ...); every check is
importable from ``ganlab.exercises``.
"""

from . import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09, ch10, ch11, ch12
from ._check import Check
from .ch01 import *  # noqa: F401,F403
from .ch02 import *  # noqa: F401,F403
from .ch03 import *  # noqa: F401,F403
from .ch04 import *  # noqa: F401,F403
from .ch05 import *  # noqa: F401,F403
from .ch06 import *  # noqa: F401,F403
from .ch07 import *  # noqa: F401,F403
from .ch08 import *  # noqa: F401,F403
from .ch09 import *  # noqa: F401,F403
from .ch10 import *  # noqa: F401,F403
from .ch11 import *  # noqa: F401,F403
from .ch12 import *  # noqa: F401,F403

__all__ = [
    "Check",
    *ch01.__all__,
    *ch02.__all__,
    *ch03.__all__,
    *ch04.__all__,
    *ch05.__all__,
    *ch06.__all__,
    *ch07.__all__,
    *ch08.__all__,
    *ch09.__all__,
    *ch10.__all__,
    *ch11.__all__,
    *ch12.__all__,
]
