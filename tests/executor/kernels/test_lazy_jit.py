"""executor/kernels/jit.py: numba loads at a kernel's first call, and a
kernel calling another kernel compiles into one native call."""

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import sys
    import numpy as np
    from quiver.executor.kernels.jit import njit

    @njit(nogil=True)
    def square(x):
        return x * x

    @njit(nogil=True)
    def sum_squares(a):
        total = 0
        for i in range(a.shape[0]):
            total += square(a[i])
        return total

    import quiver.executor                      # every operator and kernel module
    before = "numba" in sys.modules
    value = sum_squares(np.arange(5, dtype=np.int64))
    print(before, value, "numba" in sys.modules, type(sum_squares.dispatcher()).__name__)
""")


def test_numba_loads_at_first_call_and_kernels_call_kernels():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "30", "True", "CPUDispatcher"]
