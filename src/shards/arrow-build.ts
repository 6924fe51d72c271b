// Columns from typed arrays with makeData (no JS object per row), as the apache-arrow docs advise.
import {
  Binary, Field, FixedSizeList, Float32, Int32, Int64, makeData, Struct, Utf8,
  type Data, type DataType,
} from 'apache-arrow';

function offsetsOf(parts: Uint8Array[]): { offsets: Int32Array; data: Uint8Array } {
  const offsets = new Int32Array(parts.length + 1);
  let total = 0;
  parts.forEach((p, i) => {
    total += p.length;
    offsets[i + 1] = total;
  });
  const data = new Uint8Array(total);
  parts.forEach((p, i) => data.set(p, offsets[i]));
  return { offsets, data };
}

const enc = new TextEncoder();

export const utf8Data = (values: string[]): Data<Utf8> => {
  const { offsets, data } = offsetsOf(values.map((v) => enc.encode(v)));
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data });
};

export const binaryData = (values: Uint8Array[]): Data<Binary> => {
  const { offsets, data } = offsetsOf(values);
  return makeData({ type: new Binary(), length: values.length, nullCount: 0, valueOffsets: offsets, data });
};

export const int64Data = (values: ArrayLike<number>): Data<Int64> =>
  makeData({ type: new Int64(), length: values.length, nullCount: 0, data: BigInt64Array.from(Array.from(values, (v) => BigInt(v))) });

export const int32Data = (values: ArrayLike<number>): Data<Int32> =>
  makeData({ type: new Int32(), length: values.length, nullCount: 0, data: Int32Array.from(values) });

export const float32Data = (values: ArrayLike<number>): Data<Float32> =>
  makeData({ type: new Float32(), length: values.length, nullCount: 0, data: Float32Array.from(values) });

/** fixed_size_list<T>[n] whose child is the flat row-major array (pyarrow names the child 'item'). */
export function fixedListData<T extends Float32 | Int32>(child: Data<T>, n: number): Data<FixedSizeList<T>> {
  const type = new FixedSizeList(n, new Field('item', child.type, true));
  return makeData({ type, length: child.length / n, nullCount: 0, child });
}

export function structData(fields: Field[], children: Data[]): Data<Struct> {
  return makeData({ type: new Struct(fields), length: children[0]?.length ?? 0, nullCount: 0, children });
}

export function fieldOf(name: string, d: Data<DataType>, nullable = false): Field {
  return new Field(name, d.type, nullable);
}
