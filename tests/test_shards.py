import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.outputs.shards import plan_shards, sha256_file, write_shards

SCHEMA = pa.schema([("id", pa.string()), ("payload", pa.string())])


def rows(n):
    return [{"id": f"r{i:04d}", "payload": "x" * (i % 50)} for i in range(n)]


def test_plan_is_contiguous_balanced_and_within_limits():
    plan = plan_shards(103, 10.0, max_rows=25, max_bytes=10_000)
    assert plan[0][0] == 0 and plan[-1][1] == 103
    assert all(a[1] == b[0] for a, b in zip(plan, plan[1:]))
    assert len(plan) == 5 and max(b - a for a, b in plan) <= 25
    assert len(plan_shards(100, 1000.0, max_rows=10_000, max_bytes=20_000)) == 5  # 20 rows of 1 kB per shard
    assert plan_shards(0, 1.0, 10, 10) == []


def test_names_order_determinism_and_no_temp_files(tmp_path):
    data = rows(57)
    shuffled = list(reversed(data))
    a = write_shards(data, SCHEMA, str(tmp_path / "a"), "train", max_rows=20)
    b = write_shards(shuffled, SCHEMA, str(tmp_path / "b"), "train", max_rows=20)
    assert [os.path.basename(s.path) for s in a] == [f"train-0000{i}-of-00003.parquet" for i in range(3)]
    assert [s.sha256 for s in a] == [s.sha256 for s in b]  # input order does not matter
    assert [s.rows for s in a] == [19, 19, 19]
    ids = [r for s in a for r in pq.read_table(s.path)["id"].to_pylist()]
    assert ids == sorted(r["id"] for r in data)
    assert all(s.sha256 == sha256_file(s.path) for s in a)
    assert sorted(os.listdir(tmp_path / "a")) == [os.path.basename(s.path) for s in a]
    meta = pq.ParquetFile(a[0].path).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_row_groups_split_by_bytes(tmp_path):
    big = [{"id": f"r{i:03d}", "payload": "y" * 10_000} for i in range(100)]
    (s,) = write_shards(big, SCHEMA, str(tmp_path), "train", row_group_bytes=100_000)
    pf = pq.ParquetFile(s.path)
    assert pf.metadata.num_row_groups >= 10
    assert max(pf.metadata.row_group(i).total_byte_size for i in range(pf.metadata.num_row_groups)) < 200_000


def test_stale_shards_of_the_split_are_removed(tmp_path):
    write_shards(rows(60), SCHEMA, str(tmp_path), "train", max_rows=20)
    write_shards(rows(10), SCHEMA, str(tmp_path), "val", max_rows=20)
    write_shards(rows(30), SCHEMA, str(tmp_path), "train", max_rows=20)
    assert sorted(os.listdir(tmp_path)) == ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet",
                                            "val-00000-of-00001.parquet"]


def test_duplicate_ids_refused(tmp_path):
    with pytest.raises(ValueError, match="duplicate row ids"):
        write_shards(rows(3) + rows(1), SCHEMA, str(tmp_path), "train")
