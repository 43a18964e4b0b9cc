"""TPC-H for Quiver: data generation (tpchgen-cli), the 22 queries with the
spec's validation parameters, reference answers at SF 0.01, 0.1 and 1, a
runner that times and checks them, and the `quiver tpch` command.

    from quiver.tpch import generate, run
    generate(0.1, "data/sf0.1", parts=4)
    results = run("data/sf0.1", check=True, compare="duckdb")

Modules: datagen (generate), querylib (query texts), check (answers and
comparison), engines (Quiver / DuckDB adapters), runner (run), in_process
(one engine in this process), peers (one engine per child process), report
(progress bar, table, JSON), scale (scale factor from row counts),
commands (CLI), make_answers (regenerates answers/ with DuckDB).
"""

from .datagen import generate  # noqa: F401
from .runner import run  # noqa: F401

__all__ = ["generate", "run"]
