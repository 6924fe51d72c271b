// This snapmix's version, from package.json (recorded in manifests: with the CAM backend it explains bytes
// that differ between two runs of one request).
import { createRequire } from 'node:module';

export const SNAPMIX_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
