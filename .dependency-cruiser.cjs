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
    { name: 'no-orphans', severity: 'error', comment: 'a source file nothing imports (worker entries excepted)', from: { orphan: true, path: '^src/', pathNot: ['^src/cli/main\\.ts$', '-worker\\.ts$'] }, to: {} },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
  },
};
