// sharp at the edges: decode any supported file to RGB uint8 at the working size, encode arrays back.
import sharp from 'sharp';
import { UserError } from '../util/errors.js';

export interface RgbImage {
  width: number;
  height: number;
  /** HWC, 3 channels. */
  data: Uint8Array;
}

export type ResizeMode = 'cover' | 'fill' | 'contain';

export { chosenFit, recordedFit } from './fit.js';
export type { Fit, ImageFormat } from './fit.js';

// Deterministic output across machines matters more than throughput here.
sharp.concurrency(1);
sharp.cache(false);

/** Decode to RGB at size×size. 'cover' resizes the shorter side and centre-crops (the usual eval view). */
export async function decodeRgb(input: string | Buffer, size: number, mode: ResizeMode = 'cover'): Promise<RgbImage> {
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    out = await sharp(input, { failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .resize(size, size, { fit: mode, kernel: 'lanczos3', background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    const where = typeof input === 'string' ? input : 'an in-memory image';
    throw new UserError(`cannot decode ${where}: ${(e as Error).message}`);
  }
  if (out.info.channels !== 3) throw new UserError(`decoded ${typeof input === 'string' ? input : 'image'} has ${out.info.channels} channels, expected 3`);
  return { width: out.info.width, height: out.info.height, data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length) };
}

export async function encodePng(data: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Promise<Buffer> {
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } })
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

export type EncodeFormat = 'jpeg' | 'png' | 'webp';

/** Encode RGB HWC pixels; options fixed so a release is byte-reproducible with the same sharp/libvips. */
export async function encodeRgb(data: Uint8Array, width: number, height: number, format: EncodeFormat, quality: number): Promise<Buffer> {
  const img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 3 } });
  if (format === 'jpeg') return img.jpeg({ quality, chromaSubsampling: '4:2:0', mozjpeg: false }).toBuffer();
  if (format === 'webp') return img.webp({ quality, effort: 4 }).toBuffer();
  return img.png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer();
}
