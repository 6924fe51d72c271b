// The shard format version, and what each step changed (a plain value: config and CLI read it without Arrow).
// 2: SPM box masses computed analytically from the low-resolution CAM (src/cam/view-spm.ts) instead of a
// dense R×R map per view; weights may differ from version 1 in the last float32 bit, images are identical.
// 3: the config records --fit (how a photo became the square, 'fill' by default); version 2 outputs used 'cover'.
// 4: every column is nullable, as Hugging Face datasets' own writer declares them (a non-null column does
// not match its feature metadata, and `load_dataset(..., data_files=...)` then drops the ClassLabel names);
// the manifest records the teacher's agreement with the labels and what made the output (snapmix version,
// CAM backend). Images and weights are the bytes of version 3.
export const SHARD_FORMAT_VERSION = 4;

/** Versions verify and train read; reproduce regenerates 3 and 4 (earlier ones changed the config or the weights). */
export const READABLE_FORMAT_VERSIONS = [1, 2, 3, 4];
export const REPRODUCIBLE_FORMAT_VERSIONS = [3, 4];

/** Whether a column is declared nullable in shards of format v (the image struct always was). */
export const nullableColumn = (v: number, name: string): boolean => v >= 4 || name === 'image';
