// The formats `snapmix export` writes (names only, for the CLI's option builder).
export const EXPORT_FORMATS = ['parquet', 'webdataset'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
