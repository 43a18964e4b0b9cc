"""A database to come back to: a folder holding a catalog and a warehouse.

    analytics.quiver/
        catalog.json     tables (locations, options) and views, as Catalog.to_json
        warehouse/       the data of CREATE TABLE ... AS, one folder per table

`open_database(path)` creates the folder if it is missing and returns a
`Database` whose `catalog` saves itself (atomically: a temporary file, then a
rename) after every change, so CREATE TABLE AS data and views are there when
a later connection opens the same path. In-memory tables
(`Connection.register(name, pyarrow_table)`) live only as long as the
connection: they have no files to point at.

What it does not own: choosing this target from a connect string (dbapi.py),
writing the Parquet (writer.py), running statements (session.py, ddl.py).
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass

from ..errors import OperationalError, ProgrammingError
from .catalog import Catalog

CATALOG_FILE = "catalog.json"
WAREHOUSE_DIR = "warehouse"
SUFFIX = ".quiver"


def is_database_path(target: str) -> bool:
    """A connect string that names a database: a path ending in `.quiver`, or
    an existing folder holding a catalog.json."""
    if "://" in target:
        return False
    path = os.path.expanduser(target)
    return path.rstrip("/").endswith(SUFFIX) or \
        os.path.isfile(os.path.join(path, CATALOG_FILE))


class PersistentCatalog(Catalog):
    """A Catalog that writes itself to `path` after every change."""

    def __init__(self, path: str):
        super().__init__()
        self._path = path
        self._save_lock = threading.Lock()

    def _saved(self, out):
        self.save()
        return out

    def register_dataset(self, *args, **kwargs):
        return self._saved(super().register_dataset(*args, **kwargs))

    def register_view(self, *args, **kwargs):
        return self._saved(super().register_view(*args, **kwargs))

    def drop(self, *args, **kwargs):
        return self._saved(super().drop(*args, **kwargs))

    def save(self) -> None:
        text = self.to_json()
        with self._save_lock:
            tmp = f"{self._path}.{uuid.uuid4().hex}.tmp"
            try:
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, self._path)
            except OSError as e:
                raise OperationalError(f"cannot save the catalog to {self._path}: "
                                       f"{e.strerror or e}") from None


@dataclass
class Database:
    path: str             # the database folder, absolute
    catalog: PersistentCatalog
    warehouse: str        # where CREATE TABLE AS writes


def open_database(path: str) -> Database:
    """Open the database folder at `path`, creating it if it is missing."""
    root = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(root) and not os.path.isdir(root):
        raise ProgrammingError(f"{path} is a file, not a Quiver database folder")
    warehouse = os.path.join(root, WAREHOUSE_DIR)
    try:
        os.makedirs(warehouse, exist_ok=True)
    except OSError as e:
        raise OperationalError(f"cannot create the database {path}: {e.strerror or e}") \
            from None
    catalog_path = os.path.join(root, CATALOG_FILE)
    catalog = PersistentCatalog(catalog_path)
    if os.path.exists(catalog_path):
        with open(catalog_path, encoding="utf-8") as f:
            text = f.read()
        try:
            loaded = Catalog.from_json(text)
        except ValueError as e:
            raise ProgrammingError(f"{catalog_path} is not a Quiver catalog: {e}") from None
        catalog._entries = loaded._entries
    else:
        catalog.save()
    return Database(root, catalog, warehouse)
