// One Arrow shard → one Parquet file, through parquet-wasm (Arrow's Rust writer built for wasm): the
// same columns, row groups of at most rowGroupBytes, and the `huggingface` and `snapmix` schema metadata
// kept as Parquet key-value metadata (the Hub viewer and `datasets` read `huggingface` from there).
import { Compression, Table, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm/node';
import { RecordBatchReader } from 'apache-arrow';

export const DEFAULT_ROW_GROUP_BYTES = 100 * 2 ** 20;

/** Rows per row group so that a group holds at most rowGroupBytes of this shard's average row. */
function rowsPerGroup(shardBytes: number, rows: number, rowGroupBytes: number): number {
  return Math.max(1, Math.floor(rowGroupBytes / Math.max(1, shardBytes / Math.max(1, rows))));
}

export function arrowToParquet(ipcStream: Uint8Array, rows: number, rowGroupBytes = DEFAULT_ROW_GROUP_BYTES): Uint8Array {
  const schema = RecordBatchReader.from(ipcStream).open().schema;
  const kv = new Map<string, string>();
  for (const k of ['huggingface', 'snapmix']) {
    const v = schema.metadata.get(k);
    if (v !== undefined) kv.set(k, v);
  }
  // Snappy: what `datasets` and pyarrow write by default, and every reader decodes it.
  const props = new WriterPropertiesBuilder()
    .setCompression(Compression.SNAPPY)
    .setMaxRowGroupSize(rowsPerGroup(ipcStream.byteLength, rows, rowGroupBytes))
    .setKeyValueMetadata(kv)
    .build();
  return writeParquet(Table.fromIPCStream(ipcStream), props);
}
