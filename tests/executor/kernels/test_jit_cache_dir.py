"""Compiled kernels are cached in the user's cache folder, never inside the
installed package (pip cannot remove files it did not install)."""

import os
import subprocess
import sys


def test_kernels_cache_under_the_user_cache_folder(tmp_path):
    code = ("import numpy as np, numba\n"
            "from quiver.executor.kernels.hashing import hash_arrays\n"
            "import pyarrow as pa\n"
            "hash_arrays([pa.array(np.arange(10))])\n"
            "print(numba.config.CACHE_DIR)\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == str(tmp_path / "quiver" / "numba")
    assert any(f.endswith(".nbi") for _, _, fs in os.walk(tmp_path) for f in fs)
