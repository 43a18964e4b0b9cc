"""executor: runs physical plans over Arrow record batches.

Importing the package registers every operator (executor/operators/, each
module registering itself with `registry.implements`), so `registry.execute`
finds them without importing the operators itself (no import circle).
"""

from . import operators  # noqa: F401  (registers every operator)
