// The synthetic benchmark's defaults (plain values: `snapmix synth --help` reads them without sharp).
export const SYNTH_DEFAULTS = { classes: 10, perClass: 100, testPerClass: 50, size: 64, seed: 0, noise: 12, clutter: 10, partScale: [0.2, 0.26] as [number, number], colorJitter: 35 };
