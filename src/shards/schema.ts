// The shard contract (docs/SHARDS.md "Shard contract"): Arrow columns, HF `datasets` feature JSON, schema metadata.
import type { Data, Field } from 'apache-arrow';
import { binaryData, fieldOf, fixedListData, float32Data, int32Data, int64Data, structData, utf8Data } from './arrow-build.js';
import type { Method } from '../mix/plan.js';
import { softLabel } from '../mix/labels.js';

export { SHARD_FORMAT_VERSION } from './format-version.js';
import { nullableColumn } from './format-version.js';

/** The per-sample fields every row carries, as written and as read back. */
export interface ShardFields {
  image: Uint8Array;
  labelA: number;
  labelB: number;
  weightA: number;
  weightB: number;
  areaWeight: number;
  method: Method;
  sourceA: string;
  sourceB: string;
  boxA: [number, number, number, number];
  boxB: [number, number, number, number];
  round: number;
  index: number;
}

/** A row to write: the fields plus the image's file name (HF Image's `path`). */
export interface ShardRow extends ShardFields {
  imagePath: string;
}

/** HF `datasets` features for the columns (ClassLabel, Image, fixed-length Sequence, Value). */
export function hfFeatures(classNames: string[]): Record<string, unknown> {
  const value = (dtype: string) => ({ dtype, _type: 'Value' });
  const label = { names: classNames, _type: 'ClassLabel' };
  const seq = (dtype: string, length: number) => ({ feature: value(dtype), length, _type: 'Sequence' });
  return {
    image: { _type: 'Image' },
    label_a: label,
    label_b: label,
    weight_a: value('float32'),
    weight_b: value('float32'),
    soft_label: seq('float32', classNames.length),
    area_weight: value('float32'),
    method: value('string'),
    source_a: value('string'),
    source_b: value('string'),
    box_a: seq('int32', 4),
    box_b: seq('int32', 4),
    round: value('int32'),
    index: value('int64'),
  };
}

/** Columns of a batch of rows, in the contract's order, declared as shard format `version` declares them. */
export function shardColumns(rows: ShardRow[], numClasses: number, version: number): { fields: Field[]; columns: Data[] } {
  const bytes = binaryData(rows.map((r) => r.image));
  const paths = utf8Data(rows.map((r) => r.imagePath));
  const image = structData([fieldOf('bytes', bytes, true), fieldOf('path', paths, true)], [bytes, paths]);
  const soft = new Float32Array(rows.length * numClasses);
  rows.forEach((r, i) => soft.set(softLabel(numClasses, r.labelA, r.labelB, r), i * numClasses));
  const cols: Record<string, Data> = {
    image,
    label_a: int64Data(rows.map((r) => r.labelA)),
    label_b: int64Data(rows.map((r) => r.labelB)),
    weight_a: float32Data(rows.map((r) => r.weightA)),
    weight_b: float32Data(rows.map((r) => r.weightB)),
    soft_label: fixedListData(float32Data(soft), numClasses),
    area_weight: float32Data(rows.map((r) => r.areaWeight)),
    method: utf8Data(rows.map((r) => r.method)),
    source_a: utf8Data(rows.map((r) => r.sourceA)),
    source_b: utf8Data(rows.map((r) => r.sourceB)),
    box_a: fixedListData(int32Data(rows.flatMap((r) => r.boxA)), 4),
    box_b: fixedListData(int32Data(rows.flatMap((r) => r.boxB)), 4),
    round: int32Data(rows.map((r) => r.round)),
    index: int64Data(rows.map((r) => r.index)),
  };
  const fields = Object.entries(cols).map(([k, d]) => fieldOf(k, d, nullableColumn(version, k)));
  return { fields, columns: Object.values(cols) };
}
