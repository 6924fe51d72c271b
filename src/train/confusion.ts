// Per-class top-1 and the confusion matrix of a set of predictions (pure; eval prints and plots them).

export interface Confusion {
  /** matrix[true][predicted] = count. */
  matrix: number[][];
  perClass: { name: string; n: number; top1: number }[];
  top1: number;
  n: number;
}

export function confusion(labels: ArrayLike<number>, predictions: ArrayLike<number>, classNames: string[]): Confusion {
  const C = classNames.length;
  const matrix = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    matrix[labels[i]][predictions[i]]++;
    if (labels[i] === predictions[i]) correct++;
  }
  const perClass = classNames.map((name, c) => {
    const n = matrix[c].reduce((a, b) => a + b, 0);
    return { name, n, top1: n ? matrix[c][c] / n : NaN };
  });
  return { matrix, perClass, top1: labels.length ? correct / labels.length : NaN, n: labels.length };
}

/** The matrix as text: rows are true classes, columns predictions (class indices as headers). */
export function confusionText(c: Confusion): string {
  const C = c.matrix.length;
  const w = Math.max(3, ...c.matrix.flat().map((v) => String(v).length), String(C - 1).length) + 1;
  const nameW = Math.max(5, ...c.perClass.map((p) => p.name.length));
  const head = `${'true \\ pred'.padEnd(nameW + 4)}${Array.from({ length: C }, (_, j) => String(j).padStart(w)).join('')}`;
  const rows = c.matrix.map((r, i) => `${String(i).padStart(2)} ${c.perClass[i].name.padEnd(nameW)} ${r.map((v) => String(v).padStart(w)).join('')}`);
  return [head, ...rows].join('\n');
}
