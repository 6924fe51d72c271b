// Every PNG snapmix writes carries a tEXt chunk "Software: snapmix", so a later run knows the file is its
// own to replace (and a user's picture of the same name is not).
import zlib from 'node:zlib';
import { checkOutputFile, writeOutputFile, type OutputFile } from '../util/outfile.js';
import { writeFileAtomic } from '../util/fs.js';

const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const KEY = 'Software';
const VALUE = 'snapmix';

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** The PNG with our tEXt chunk inserted after IHDR (which is always first and 25 bytes long). */
function tagPng(png: Buffer): Buffer {
  if (!png.subarray(0, 8).equals(SIG)) throw new Error('not a PNG');
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk('tEXt', Buffer.from(`${KEY}\0${VALUE}`, 'latin1')), png.subarray(ihdrEnd)]);
}

/** Whether bytes are a PNG that snapmix wrote (its tEXt chunk among the chunks before the image data). */
function isSnapmixPng(b: Buffer): boolean {
  if (b.length < 8 || !b.subarray(0, 8).equals(SIG)) return false;
  for (let p = 8; p + 12 <= b.length;) {
    const len = b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    if (type === 'IDAT' || type === 'IEND') return false;
    if (type === 'tEXt' && b.toString('latin1', p + 8, p + 8 + len) === `${KEY}\0${VALUE}`) return true;
    p += 12 + len;
  }
  return false;
}

/** Where a PNG goes: a path in a directory this run owns (demo, scripts), or a user-named file under the output rules. */
export type PngTarget = string | Omit<OutputFile, 'isOurs'>;

export const checkPngTarget = (t: Omit<OutputFile, 'isOurs'>) => checkOutputFile({ ...t, isOurs: isSnapmixPng });

/** Tag and write a PNG: atomically, and for a user-named file only where the output rules allow. */
export async function writePng(target: PngTarget, png: Buffer): Promise<void> {
  const bytes = tagPng(png);
  if (typeof target === 'string') await writeFileAtomic(target, bytes);
  else await writeOutputFile({ ...target, isOurs: isSnapmixPng }, bytes);
}
