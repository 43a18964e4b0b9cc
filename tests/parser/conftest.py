"""Fixtures for binder tests: a fake catalog with the TPC-H schema and a
few small tables, and DuckDB connections holding the same (empty) tables."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pytest

D = pa.decimal128(15, 2)
TPCH = {
    "nation": [("n_nationkey", pa.int64()), ("n_name", pa.string()),
               ("n_regionkey", pa.int64()), ("n_comment", pa.string())],
    "region": [("r_regionkey", pa.int64()), ("r_name", pa.string()),
               ("r_comment", pa.string())],
    "part": [("p_partkey", pa.int64()), ("p_name", pa.string()), ("p_mfgr", pa.string()),
             ("p_brand", pa.string()), ("p_type", pa.string()), ("p_size", pa.int32()),
             ("p_container", pa.string()), ("p_retailprice", D), ("p_comment", pa.string())],
    "supplier": [("s_suppkey", pa.int64()), ("s_name", pa.string()),
                 ("s_address", pa.string()), ("s_nationkey", pa.int64()),
                 ("s_phone", pa.string()), ("s_acctbal", D), ("s_comment", pa.string())],
    "partsupp": [("ps_partkey", pa.int64()), ("ps_suppkey", pa.int64()),
                 ("ps_availqty", pa.int32()), ("ps_supplycost", D),
                 ("ps_comment", pa.string())],
    "customer": [("c_custkey", pa.int64()), ("c_name", pa.string()),
                 ("c_address", pa.string()), ("c_nationkey", pa.int64()),
                 ("c_phone", pa.string()), ("c_acctbal", D), ("c_mktsegment", pa.string()),
                 ("c_comment", pa.string())],
    "orders": [("o_orderkey", pa.int64()), ("o_custkey", pa.int64()),
               ("o_orderstatus", pa.string()), ("o_totalprice", D),
               ("o_orderdate", pa.date32()), ("o_orderpriority", pa.string()),
               ("o_clerk", pa.string()), ("o_shippriority", pa.int32()),
               ("o_comment", pa.string())],
    "lineitem": [("l_orderkey", pa.int64()), ("l_partkey", pa.int64()),
                 ("l_suppkey", pa.int64()), ("l_linenumber", pa.int32()),
                 ("l_quantity", D), ("l_extendedprice", D), ("l_discount", D),
                 ("l_tax", D), ("l_returnflag", pa.string()), ("l_linestatus", pa.string()),
                 ("l_shipdate", pa.date32()), ("l_commitdate", pa.date32()),
                 ("l_receiptdate", pa.date32()), ("l_shipinstruct", pa.string()),
                 ("l_shipmode", pa.string()), ("l_comment", pa.string())],
}
SMALL = {
    "t": [("a", pa.int32()), ("b", pa.int64()), ("s", pa.string()), ("d", pa.date32()),
          ("m", pa.decimal128(10, 2)), ("f", pa.float64())],
    "u": [("a", pa.int32()), ("c", pa.string()), ("k", pa.int64())],
    "MixedCase": [("Col", pa.int32()), ("other", pa.string())],
}


@dataclass
class FakeSource:
    schema: pa.Schema


@dataclass
class FakeEntry:
    kind: str
    source: object = None
    sql: str | None = None


@dataclass
class FakeCatalog:
    entries: dict = field(default_factory=dict)
    opened: list = field(default_factory=list)

    def add_table(self, name, cols):
        self.entries[name.lower()] = FakeEntry("table", FakeSource(pa.schema(cols)))

    def add_view(self, name, sql):
        self.entries[name.lower()] = FakeEntry("view", sql=sql)

    def lookup(self, name):
        return self.entries.get(name.lower())

    def open_location(self, location, hive_partitioning=None):
        self.opened.append((location, hive_partitioning))
        return FakeSource(pa.schema([("x", pa.int64()), ("y", pa.string())]))


def make_catalog():
    cat = FakeCatalog()
    for name, cols in {**TPCH, **SMALL}.items():
        cat.add_table(name, cols)
    return cat


@pytest.fixture
def catalog():
    return make_catalog()


@pytest.fixture(scope="module")
def duck():
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    for name, cols in {**TPCH, **SMALL}.items():
        empty = pa.table({n: pa.array([], t) for n, t in cols})  # noqa: F841
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM empty')
    yield con
    con.close()
