// The layer rule of docs/ARCHITECTURE.md, checked on every `npm test`: imports only go down
// cli → pipeline → train → pool → shards → mix → model → cam → data → image → util, and no file imports
// itself round a cycle (type-only imports count: they are still coupling).
const order = ['cli', 'pipeline', 'train', 'pool', 'shards', 'mix', 'model', 'cam', 'data', 'image', 'util'];

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a cycle between files', from: {}, to: { circular: true } },
    ...order.slice(1).map((layer, i) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `src/${layer} may import only ${order.slice(i + 2).join(', ')} and itself`,
      from: { path: `^src/${layer}/` },
      to: { path: `^src/(${order.slice(0, i + 1).join('|')})/` },
    })),
    {
      name: 'onnx-worker-loads-no-tfjs',
      severity: 'error',
      comment: 'an ONNX teacher\'s CAM worker never loads tfjs (nothing it imports, however indirectly, reaches @tensorflow)',
      from: { path: '^src/pool/onnx-cam-worker\\.ts$' },
      to: { path: '^node_modules/@tensorflow/', reachable: true },
    },
    { name: 'no-orphans', severity: 'error', comment: 'a source file nothing imports (worker entries excepted)', from: { orphan: true, path: '^src/', pathNot: ['^src/cli/main\\.ts$', '-worker\\.ts$'] }, to: {} },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // src, and tfjs as a leaf so the rule above can see what reaches it.
    includeOnly: '^(src/|node_modules/@tensorflow/)',
  },
};
