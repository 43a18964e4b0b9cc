"""Running the statements that change or describe the catalog: CREATE
EXTERNAL TABLE, CREATE TABLE AS, CREATE VIEW, CREATE FUNCTION, DROP, SHOW
TABLES, DESCRIBE."""

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
        S.Describe: describe,
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


def create_external_table(session, st):
    from .storage.dataset import open_dataset
    if not _exists_check(session, st.name, st.if_not_exists, st.or_replace):
        return Result(statement="CREATE")
    partition_columns = [(c.name, c.dtype) for c in st.partitioned_by if c.dtype is not None]
    dataset = open_dataset(st.location,
                           hive_partitioning=True if st.partitioned_by else None,
                           partition_columns=partition_columns or None,
                           storage_options=dict(st.options) or None)
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
    location = os.path.join(session.warehouse, st.name.lower())
    write_table(result.table, location, partition_by=list(st.partitioned_by))
    dataset = open_dataset(location, hive_partitioning=bool(st.partitioned_by) or None)
    session.catalog.register_dataset(st.name, dataset, replace=True)
    return Result(rowcount=result.table.num_rows, statement="CREATE")


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
    return Result(statement="DROP")


def show_tables(session, st):
    names = sorted(session.catalog.list())
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
