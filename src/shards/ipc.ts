// Arrow IPC stream files: write atomically (temporary name, then rename), read whole.
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { RecordBatch, RecordBatchStreamWriter, Schema, tableFromIPC, type Data, type Field, type Table } from 'apache-arrow';
import { structData } from './arrow-build.js';

export function recordBatch(fields: Field[], columns: Data[], metadata?: Map<string, string>): RecordBatch {
  const schema = new Schema(fields, metadata);
  return new RecordBatch(schema, structData(fields, columns));
}

export function streamBytes(batches: RecordBatch[]): Uint8Array {
  return RecordBatchStreamWriter.writeAll(batches).toUint8Array(true);
}

export interface WrittenFile { bytes: number; sha256: string }

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<WrittenFile> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
}

export async function readTable(file: string): Promise<Table> {
  return tableFromIPC(await fs.readFile(file));
}
