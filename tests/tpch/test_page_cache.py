"""The benchmark reads its data once before timing, when it fits in memory."""
from quiver.tpch import page_cache


def _tables(tmp_path):
    folder = tmp_path / "lineitem"
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(b"a" * 1000)
    (folder / "part-1.parquet").write_bytes(b"b" * 2500)
    (folder / "notes.txt").write_bytes(b"not data")
    single = tmp_path / "nation.parquet"
    single.write_bytes(b"c" * 10)
    return {"lineitem": str(folder), "nation": str(single)}


def test_reads_every_data_file_once(tmp_path):
    assert page_cache.warm(_tables(tmp_path)) == 3510


def test_leaves_data_alone_that_would_not_stay_cached(tmp_path, monkeypatch):
    tables = _tables(tmp_path)
    monkeypatch.setattr(page_cache, "available_memory", lambda: 5000)
    assert page_cache.warm(tables) == 0
    monkeypatch.setattr(page_cache, "available_memory", lambda: None)
    assert page_cache.warm(tables) == 0
    monkeypatch.setattr(page_cache, "available_memory", lambda: 8000)
    assert page_cache.warm(tables) == 3510
