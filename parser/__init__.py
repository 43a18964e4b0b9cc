"""parser/: SQL text -> sqlglot AST -> bound logical plan.

`bind(sql, catalog, params=None, dialect=None) -> list[Statement]` is the
entry point; `parse(sql, dialect=None)` gives the sqlglot ASTs; the
statement classes are in `parser.statements`.
"""

from .binder import bind
from .parse import parse
from .statements import (ColumnDef, CreateExternalTable, CreateTableAs, CreateView,
                         Describe, Drop, Explain, Select, ShowTables, Statement)

__all__ = ["bind", "parse", "Statement", "Select", "ColumnDef", "CreateExternalTable",
           "CreateTableAs", "CreateView", "Drop", "ShowTables", "Describe", "Explain"]
