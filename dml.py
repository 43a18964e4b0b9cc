"""Running the statements that write data: CREATE TABLE t (cols) (an empty
Parquet table under the warehouse), INSERT INTO (appending Parquet
files to a table's folder, or rows to an in-memory table) and COPY ... TO
(a query's result as Parquet, CSV or JSON files). The binder
(parser/bind_dml.py) has already checked the columns and types; this module
runs the query and hands the rows to storage."""

from __future__ import annotations

import pyarrow as pa

from . import errors


def create_table(session, st):
    import os
    from . import ddl
    from .session import Result
    from .storage.dataset import open_dataset
    from .storage.writer import write_table
    if not ddl._exists_check(session, st.name, st.if_not_exists, st.or_replace):
        return Result(statement="CREATE")
    schema = pa.schema([pa.field(c.name, c.dtype) for c in st.columns])
    location = os.path.join(session.warehouse, st.name.lower())
    write_table(schema.empty_table(), location)
    session.catalog.register_dataset(st.name, open_dataset(location), replace=True)
    return Result(statement="CREATE")


def insert(session, st):
    from .session import Result
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
    from .session import Result
    from .storage.export import export_table
    result = session.run_query(st.query)
    opts = dict(st.options)
    n = export_table(result.table, st.location, st.format, st.partition_by,
                     header=bool(opts.get("header", True)),
                     delimiter=str(opts.get("delimiter", ",")),
                     overwrite=bool(opts.get("overwrite", False)),
                     overwrite_or_ignore=bool(opts.get("overwrite_or_ignore", False)))
    return Result(rowcount=n, statement="COPY")
