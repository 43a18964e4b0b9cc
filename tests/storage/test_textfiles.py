"""CSV / JSON datasets (storage/textfiles.py): schema inference, Hive
folders, reading a split, a value that does not fit the inferred type, and
a catalog entry that survives to_json/from_json."""

import datetime

import pyarrow as pa
import pytest

from quiver.errors import DataError, ProgrammingError
from quiver.storage.catalog import Catalog
from quiver.storage.dataset import open_dataset
from quiver.storage.textfiles import read_text_split


def test_csv_folder_with_hive_partitions(tmp_path):
    for k in (1, 2):
        (tmp_path / f"k={k}").mkdir()
        (tmp_path / f"k={k}" / "a.csv").write_text(f"a,s,d\n{k},x{k},2020-01-0{k}\n,\"\",\n")
    ds = open_dataset(str(tmp_path), file_format="csv")
    assert ds.schema == pa.schema([("a", pa.int64()), ("s", pa.string()),
                                   ("d", pa.date32()), ("k", pa.int64())])
    [split] = ds.splits(files=ds.files[1:])
    [batch] = read_text_split(split, ["k", "a", "s"], ds.schema, "csv", {})
    assert batch.to_pydict() == {"k": [2, 2], "a": [2, None], "s": ["x2", None]}


def test_json_dates_and_timestamps(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"d": "2020-01-02", "t": "2020-01-02 03:04:05", "n": null}\n'
                    '{"d": null, "t": null, "n": null}\n')
    ds = open_dataset(str(path), file_format="json")
    assert [f.type for f in ds.schema] == [pa.date32(), pa.timestamp("us"), pa.string()]
    [split] = ds.splits()
    [batch] = read_text_split(split, ["d", "t"], ds.schema, "json", {})
    assert batch.column(0).to_pylist() == [datetime.date(2020, 1, 2), None]


def test_value_that_does_not_fit_is_a_data_error(tmp_path):
    (tmp_path / "a.csv").write_text("a\n1\n2\n")
    (tmp_path / "b.csv").write_text("a\nnot a number\n")
    ds = open_dataset(str(tmp_path), file_format="csv")
    with pytest.raises(DataError, match="b.csv"):
        for split in ds.splits():
            list(read_text_split(split, ["a"], ds.schema, "csv", {}))


def test_nothing_there(tmp_path):
    with pytest.raises(ProgrammingError, match="no JSON files"):
        open_dataset(str(tmp_path / "none" / "*.json"), file_format="json")


def test_catalog_round_trip_keeps_the_format(tmp_path):
    (tmp_path / "a.csv").write_text("1|2\n")
    cat = Catalog()
    ds = open_dataset(str(tmp_path / "a.csv"), file_format="csv",
                      read_options={"header": False, "delimiter": "|"})
    cat.register_dataset("t", ds)
    again = Catalog.from_json(cat.to_json()).lookup("t").source
    assert again.file_format == "csv"
    assert again.schema.names == ["column0", "column1"]
