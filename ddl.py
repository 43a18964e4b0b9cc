"""Running the statements that change or describe the catalog: CREATE
EXTERNAL TABLE, CREATE TABLE AS, CREATE VIEW, CREATE FUNCTION, DROP, SHOW
TABLES, DESCRIBE; and those that write data: CREATE TABLE (cols) (an empty
Parquet table under the warehouse), INSERT INTO (Parquet files appended to
the table's folder, or rows to an in-memory table) and COPY ... TO
(Parquet / CSV / JSON files)."""

from __future__ import annotations

import os

import pyarrow as pa

from . import errors
from . import datatypes as dt
from .executor.result import Result


def run(session, st):
    from .parser import statements as S
    handler = {
        S.CreateExternalTable: create_external_table,
        S.CreateTableAs: create_table_as,
        S.CreateView: create_view,
        S.CreateFunction: create_function,
        S.Drop: drop,
        S.ShowTables: show_tables,
        S.ShowSchemas: show_schemas,
        S.Describe: describe,
        S.CreateTable: create_table,
        S.Insert: insert,
        S.Copy: copy,
    }.get(type(st))
    if handler is None:
        raise errors.NotSupportedError(f"statement {type(st).__name__} is not supported")
    return handler(session, st)


def _exists_check(session, name: str, if_not_exists: bool, or_replace: bool) -> bool:
    """True if the CREATE should go on; raise if the name is taken."""
    entry = session.catalog.lookup(name)
    if entry is None or or_replace:
        return True
    if if_not_exists:
        return False
    raise errors.ProgrammingError(f"{entry.kind} '{name}' already exists")


def _same_location(entry, location: str) -> bool:
    """Whether a catalog entry is a table over `location` (paths compared
    absolute, without a trailing slash)."""
    def norm(loc):
        if isinstance(loc, (list, tuple)):
            return tuple(norm(x) for x in loc)
        loc = str(loc)
        loc = loc if "://" in loc else os.path.abspath(loc)
        return loc.rstrip("/") or loc
    have = getattr(entry, "location", None)
    return entry.kind == "table" and have is not None and norm(have) == norm(location)


def create_external_table(session, st):
    """CREATE EXTERNAL TABLE. The same table at the same location again is a
    no-op (a script or `quiver tpch run` can run twice against one
    coordinator); a different location is an error that says both, unless
    OR REPLACE / IF NOT EXISTS say what to do."""
    from .storage.dataset import open_dataset
    entry = session.catalog.lookup(st.name)
    if entry is not None and not st.or_replace and not st.if_not_exists:
        declared = tuple((c.name, dt.to_wire(c.dtype)) for c in st.columns
                         if c.dtype is not None) or None
        where = getattr(entry, "location", None)
        if _same_location(entry, st.location):
            if (getattr(entry, "columns", None) or None) == declared:
                return Result(statement="CREATE")
            raise errors.ProgrammingError(
                f"table '{st.name}' already exists at {where} with a different column "
                f"list: use CREATE OR REPLACE EXTERNAL TABLE to change it")
        if entry.kind == "table" and where is not None:
            raise errors.ProgrammingError(
                f"table '{st.name}' already exists at {where}, not {st.location}: use "
                f"CREATE OR REPLACE EXTERNAL TABLE to point it at the new location, or "
                f"DROP TABLE {st.name} first")
    if not _exists_check(session, st.name, st.if_not_exists, st.or_replace):
        return Result(statement="CREATE")
    partition_columns = [(c.name, c.dtype) for c in st.partitioned_by if c.dtype is not None]
    dataset = open_dataset(st.location,
                           hive_partitioning=True if st.partitioned_by else None,
                           partition_columns=partition_columns or None,
                           storage_options=dict(st.options) or None,
                           file_format=st.file_format,
                           read_options=dict(st.read_options))
    from .planner.functions import cast_allowed
    types = {n.lower(): dt.normalize(dataset.schema.field(n).type) for n in dataset.schema.names}
    names = set(dataset.schema.names)
    for c in st.columns:
        have = types.get(c.name.lower())
        if have is None:
            raise errors.ProgrammingError(
                f"column '{c.name}' of table '{st.name}' is not in the files at {st.location}")
        if c.dtype is not None and not cast_allowed(have, c.dtype):
            raise errors.ProgrammingError(
                f"column '{c.name}' is {dt.sql_name(have)} in the files at {st.location}, "
                f"which cannot be read as {dt.sql_name(c.dtype)}")
    for c in st.partitioned_by:
        if c.name not in names:
            raise errors.ProgrammingError(
                f"partition column '{c.name}' not found under {st.location}")
    declared = [(c.name, c.dtype if c.dtype is not None else types[c.name.lower()])
                for c in st.columns]
    session.catalog.register_dataset(st.name, dataset, replace=st.or_replace,
                                     columns=declared or None)
    return Result(statement="CREATE")


def create_table_as(session, st):
    from .storage.dataset import open_dataset
    from .storage.writer import write_table
    if not _exists_check(session, st.name, st.if_not_exists, st.or_replace):
        return Result(statement="CREATE")
    result = session.run_query(st.query)
    names = set(result.table.column_names)
    for col in st.partitioned_by:
        if col not in names:
            raise errors.ProgrammingError(f"PARTITIONED BY column '{col}' is not in the query")
    location = st.location or os.path.join(session.warehouse, st.name.lower())
    write_table(result.table, location, partition_by=list(st.partitioned_by))
    dataset = open_dataset(location, hive_partitioning=bool(st.partitioned_by) or None)
    session.catalog.register_dataset(st.name, dataset, replace=True)
    out = Result(rowcount=result.table.num_rows, statement="CREATE")
    out.message = f"table {st.name} written to {location}"
    if st.location is None and getattr(session, "warehouse_is_temporary", False):
        out.message += (" (a temporary folder: connect to a database path, e.g. "
                        "quiver.connect('analytics.quiver'), or use CREATE TABLE ... "
                        "LOCATION 'uri' to keep it)")
    return out


def create_view(session, st):
    if not _exists_check(session, st.name, False, st.or_replace):
        return Result(statement="CREATE")
    session.catalog.register_view(st.name, st.sql_text, replace=st.or_replace)
    return Result(statement="CREATE")


def create_function(session, st):
    from .planner.functions import scalar_names
    if st.name in scalar_names():
        raise errors.ProgrammingError(f"{st.name}() is a built-in function; "
                                      "choose another name")
    if st.if_not_exists and session.catalog.function(st.name) is not None:
        return Result(statement="CREATE")
    session.catalog.register_function(st.name, st.target, st.return_type,
                                      replace=st.or_replace)
    return Result(statement="CREATE")


def drop(session, st):
    if st.kind == "function":
        session.catalog.drop_function(st.name, if_exists=st.if_exists)
        return Result(statement="DROP")
    entry = session.catalog.lookup(st.name)
    if entry is None or entry.kind != st.kind:
        if st.if_exists:
            return Result(statement="DROP")
        raise errors.ProgrammingError(f"{st.kind} '{st.name}' does not exist")
    session.catalog.drop(st.name, st.kind, if_exists=st.if_exists)
    owned = os.path.join(session.warehouse, st.name.lower())
    if st.kind == "table" and _same_location(entry, owned) and os.path.isdir(owned):
        # the data CREATE TABLE AS wrote into the warehouse goes with the table
        import shutil
        shutil.rmtree(owned, ignore_errors=True)
    return Result(statement="DROP")


def show_tables(session, st):
    if st.schema == "system":
        # only a coordinator has system tables; its catalog says which
        listing = getattr(session.catalog, "system_tables", None)
        names = sorted(f"system.{n}" for n in (listing() if listing else ()))
    else:
        names = sorted(session.catalog.list())
    table = pa.table({"name": pa.array(names, pa.string())})
    return Result(table, table.num_rows, "SHOW")


def show_schemas(session, st):
    """main holds the user's tables; system (a cluster's coordinator only)
    its system tables."""
    names = ["main"] + (["system"] if hasattr(session.catalog, "system_tables") else [])
    table = pa.table({"name": pa.array(names, pa.string())})
    return Result(table, table.num_rows, "SHOW")


def describe(session, st):
    from .parser import bind
    if st.query is not None:
        plan = st.query.plan
        pairs = [(n, f.dtype, f.nullable) for n, f in zip(st.query.output_names, plan.schema)]
    else:
        [select] = bind(f'SELECT * FROM "{st.name}"', session.catalog)
        plan = select.query.plan
        pairs = [(n, f.dtype, f.nullable) for n, f in zip(select.query.output_names, plan.schema)]
    table = pa.table({
        "column_name": pa.array([p[0] for p in pairs], pa.string()),
        "column_type": pa.array([dt.sql_name(p[1]) for p in pairs], pa.string()),
        "null": pa.array(["YES" if p[2] else "NO" for p in pairs], pa.string()),
    })
    return Result(table, table.num_rows, "DESCRIBE")


# --- statements that write data (bound in parser/bind_dml.py) ---------------

def create_table(session, st):
    from .storage.dataset import open_dataset
    from .storage.writer import write_table
    if not _exists_check(session, st.name, st.if_not_exists, st.or_replace):
        return Result(statement="CREATE")
    schema = pa.schema([pa.field(c.name, c.dtype) for c in st.columns])
    location = os.path.join(session.warehouse, st.name.lower())
    write_table(schema.empty_table(), location)
    session.catalog.register_dataset(st.name, open_dataset(location), replace=True)
    return Result(statement="CREATE")


def insert(session, st):
    from .storage.fs import has_glob, resolve
    from .storage.writer import write_table
    entry = session.catalog.lookup(st.name)
    if entry is None or entry.kind != "table":
        raise errors.ProgrammingError(f"table '{st.name}' does not exist")
    result = session.run_query(st.query)
    table = result.table
    if entry.source_kind == "memory":
        old = entry.source.table
        new = pa.concat_tables([old, table.rename_columns(old.column_names).cast(old.schema)])
        session.catalog.register_table(st.name, new, replace=True)
        return Result(rowcount=table.num_rows, statement="INSERT")
    location = entry.location
    options = entry.options
    storage_options = options.get("storage_options")
    if not isinstance(location, str) or has_glob(location):
        raise errors.NotSupportedError(
            f"INSERT INTO table '{st.name}', which reads a list of files or a glob, "
            f"is not supported (only a table over one folder)")
    fs, path = resolve(location, storage_options)
    if not fs.isdir(path):
        raise errors.NotSupportedError(
            f"INSERT INTO table '{st.name}', which reads the single file {location}, "
            f"is not supported (only a table over one folder)")
    source = entry.source
    if source.file_format != "parquet":
        raise errors.NotSupportedError(
            f"INSERT INTO table '{st.name}' over {source.file_format.upper()} files is not "
            f"supported (only Parquet tables)")
    file_names = list(source.file_schema.names)
    declared = [n for n, _ in entry.columns] if entry.columns else None
    if declared is not None and [n.lower() for n in declared] != \
            [n.lower() for n in file_names + source.partition_columns]:
        raise errors.NotSupportedError(
            f"INSERT INTO table '{st.name}', declared with other columns than its "
            f"files hold, is not supported")
    if table.num_rows:
        names = file_names + source.partition_columns
        table = table.rename_columns(names)
        write_table(table, location, partition_by=source.partition_columns,
                    storage_options=storage_options, mode="append")
        session.catalog.reopen(st.name)
    return Result(rowcount=table.num_rows, statement="INSERT")


def copy(session, st):
    from .storage.export import export_table
    result = session.run_query(st.query)
    opts = dict(st.options)
    n = export_table(result.table, st.location, st.format, st.partition_by,
                     header=bool(opts.get("header", True)),
                     delimiter=str(opts.get("delimiter", ",")),
                     overwrite=bool(opts.get("overwrite", False)),
                     overwrite_or_ignore=bool(opts.get("overwrite_or_ignore", False)))
    return Result(rowcount=n, statement="COPY")
