"""Remove a leftover `quiver` folder without `__init__.py` from site-packages.

pip removes only the files an install recorded; numba's `cache=True` writes
compiled kernels next to their sources, so uninstalling a non-editable
install leaves `site-packages/quiver/executor/kernels/__pycache__/`. Python
then imports `quiver` from that folder as a namespace package, ahead of the
editable install's finder, and every import of a real module fails.
"""

import os
import shutil
import site
import sys


def main() -> None:
    for folder in site.getsitepackages() + [site.getusersitepackages()]:
        leftover = os.path.join(folder, "quiver")
        if os.path.isdir(leftover) and not os.path.exists(
                os.path.join(leftover, "__init__.py")):
            shutil.rmtree(leftover)
            print(f"removed a stale install's leftovers: {leftover}",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
