// One Arrow shard → one WebDataset tar (tar-stream): per sample KEY.<ext> (the encoded image) and
// KEY.json (labels, weights, boxes, sources, round), KEY = the sample index, 9 digits. Every header is
// fixed (mtime 0, root-owned, 0644), so the same shard always makes the same bytes.
import tar from 'tar-stream';
import { samplesOf } from './reader.js';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';

const HEADER = { mtime: new Date(0), mode: 0o644, uid: 0, gid: 0, uname: '', gname: '' };

export const tarName = (k: number) => `shard-${String(k).padStart(6, '0')}.tar`;

export async function arrowToTar(ipcStream: Uint8Array, classNames: string[], ext: string): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  const put = (name: string, data: Buffer) => new Promise<void>((resolve, reject) => pack.entry({ ...HEADER, name, size: data.length }, data, (e) => (e ? reject(e) : resolve())));
  for (const batch of RecordBatchReader.from(ipcStream).open() as Iterable<RecordBatch>) {
    for (const s of samplesOf(batch)) {
      const key = String(s.index).padStart(9, '0');
      await put(`${key}.${ext}`, Buffer.from(s.image.buffer, s.image.byteOffset, s.image.byteLength));
      const meta = {
        index: s.index, round: s.round, method: s.method,
        label_a: s.labelA, label_b: s.labelB, class_a: classNames[s.labelA], class_b: classNames[s.labelB],
        weight_a: s.weightA, weight_b: s.weightB, area_weight: s.areaWeight, soft_label: Array.from(s.softLabel),
        source_a: s.sourceA, source_b: s.sourceB, box_a: s.boxA, box_b: s.boxB,
      };
      await put(`${key}.json`, Buffer.from(JSON.stringify(meta)));
    }
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
