"""`njit`, numba's decorator, deferred until a kernel first runs.

Importing numba (and LLVM) costs about 0.2 s of CPU. Every Quiver process
imports the operators, but a query such as `SELECT 1` or a scan with a
filter never calls a numba kernel, so the kernels here are declared with
this `njit` instead of numba's: the decorator records the function and its
options, and numba is imported and the function handed to `numba.njit` on
the first call (from Python or from another kernel being compiled).

A kernel may call another kernel (a global of its module, or one imported
from another kernel module): when numba compiles the caller it asks for
the callee's type, which this module answers with the callee's real numba
dispatcher once numba is loaded, so compiled code calls compiled code
directly, as with plain numba.
"""

from __future__ import annotations

import functools
import os
import threading

_lock = threading.RLock()
_numba_ready = False


class Kernel:
    """A function to compile with numba.njit(**options) at its first call."""

    def __init__(self, fn, options: dict):
        self.py_func = fn
        self.options = options
        self._dispatcher = None
        functools.update_wrapper(self, fn)

    def dispatcher(self):
        d = self._dispatcher
        if d is None:
            with _lock:
                if self._dispatcher is None:
                    _load_numba()
                    import numba
                    self._dispatcher = numba.njit(**self.options)(self.py_func)
                d = self._dispatcher
        return d

    def __call__(self, *args, **kwargs):
        return self.dispatcher()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<kernel {self.py_func.__module__}.{self.py_func.__qualname__}>"


def njit(*args, **options):
    """`@njit(cache=True, nogil=True)` (or bare `@njit`), compiled on first use."""
    if args and callable(args[0]) and not options:
        return Kernel(args[0], {})

    def wrap(fn):
        return Kernel(fn, options)
    return wrap


def cache_dir() -> str:
    """Where compiled kernels are cached: the user's cache folder, not the
    package's __pycache__. Files numba writes into an installed package are
    unknown to pip, so uninstalling it left a `quiver/` folder of them in
    site-packages that shadowed a later editable install (the README's two
    quick-start commands, run in one venv, failed to import quiver)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "quiver", "numba")


def _load_numba() -> None:
    """Import numba once, and teach its type inference that a Kernel global
    is its compiled dispatcher."""
    global _numba_ready
    with _lock:
        if _numba_ready:
            return
        import numba
        from numba.extending import typeof_impl
        if not numba.config.CACHE_DIR:       # the user's NUMBA_CACHE_DIR wins
            numba.config.CACHE_DIR = cache_dir()

        @typeof_impl.register(Kernel)
        def _typeof_kernel(val, c):
            return typeof_impl(val.dispatcher(), c)
        _numba_ready = True
