// The --backend choices, apart from the backends themselves (loading tfjs takes ~0.4 s; --help needs none).
export type BackendChoice = 'auto' | 'gpu' | 'native' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'gpu', 'native', 'wasm', 'cpu'];
