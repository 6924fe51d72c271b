// The shard format version, and what each step changed (a plain value: config and CLI read it without Arrow).
// 2: SPM box masses computed analytically from the low-resolution CAM (src/cam/view-spm.ts) instead of a
// dense R×R map per view; weights may differ from version 1 in the last float32 bit, images are identical.
// 3: the config records --fit (how a photo became the square, 'fill' by default); version 2 outputs used 'cover'.
export const SHARD_FORMAT_VERSION = 3;
