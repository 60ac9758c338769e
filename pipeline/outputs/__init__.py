"""What a build writes and how: schemas (the Arrow columns), shards (streamed, sharded Parquet),
videos (the H.264 files rows name), rejects (what was dropped and why), manifest (hashes, code
version, inputs)."""
