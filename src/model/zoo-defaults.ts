// The zoo ResNet's default shape (plain values: the CLI's --help reads them without loading tfjs).
export const DEFAULT_RESNET: { width: number; depth: number; stages: number; seed: number } = { width: 16, depth: 1, stages: 3, seed: 0 };
