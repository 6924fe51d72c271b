// Arrow IPC stream files: build record batches, serialise, read whole.
import { promises as fs } from 'node:fs';
import { RecordBatch, RecordBatchStreamWriter, Schema, tableFromIPC, type Data, type Field, type Table } from 'apache-arrow';
import { structData } from './arrow-build.js';

export function recordBatch(fields: Field[], columns: Data[], metadata?: Map<string, string>): RecordBatch {
  const schema = new Schema(fields, metadata);
  return new RecordBatch(schema, structData(fields, columns));
}

export function streamBytes(batches: RecordBatch[]): Uint8Array {
  return RecordBatchStreamWriter.writeAll(batches).toUint8Array(true);
}

export async function readTable(file: string): Promise<Table> {
  return tableFromIPC(await fs.readFile(file));
}
