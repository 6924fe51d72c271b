// How a photo becomes the square working image, as names and rules only (no sharp: the CLI's option
// builders read these without loading an image library).

/**
 * How a source photo becomes the square working image (--fit): 'fill' squashes the whole photo to R×R (the
 * official SnapMix CUB recipe: resize to 512×512, crop 448), 'cover' scales the shorter side and cuts a
 * centre square (loses the sides of a 500×375 photo, and what stands there). CAMs and views must agree.
 */
export type Fit = 'fill' | 'cover';
export const FITS: readonly Fit[] = ['fill', 'cover'];

/** Encodings a shard's images can have. */
export type ImageFormat = 'jpeg' | 'png' | 'webp';
/** The default for new runs. */
export const DEFAULT_FIT: Fit = 'fill';
/** The fit a stage uses: the flag, else what its input recorded (teacher, CAMs, shards), else the default. */
export const chosenFit = (flag: Fit | undefined, recorded: Fit | undefined): Fit => flag ?? recorded ?? DEFAULT_FIT;
/** What a record without a fit was made with: every output and CAM cache before --fit existed used 'cover'. */
export const recordedFit = (f: Fit | undefined): Fit => f ?? 'cover';
