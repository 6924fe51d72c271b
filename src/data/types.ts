export type Split = 'train' | 'test' | 'all';

/** One source image. id is its path relative to the dataset root, posix separators. */
export interface DatasetRecord {
  id: string;
  /** Absolute path of the file. */
  path: string;
  label: number;
  split: Split;
}

export interface Dataset {
  root: string;
  format: 'imagefolder' | 'cub' | 'manifest';
  classNames: string[];
  records: DatasetRecord[];
}

/** Python's str ordering (code points), which torchvision's ImageFolder uses via sorted(). */
export function compareCodePoints(a: string, b: string): number {
  const A = Array.from(a);
  const B = Array.from(b);
  const n = Math.min(A.length, B.length);
  for (let i = 0; i < n; i++) {
    const d = A[i].codePointAt(0)! - B[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return A.length - B.length;
}

/** torchvision.datasets.folder.IMG_EXTENSIONS. */
const IMG_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];

export function isImageFile(name: string): boolean {
  const lower = name.toLowerCase();
  return IMG_EXTENSIONS.some((e) => lower.endsWith(e));
}
