// Small charts (SVG rendered to PNG by sharp): accuracy per epoch, a labelled scatter, a confusion matrix.
import sharp from 'sharp';
import { writePng, type PngTarget } from './png-out.js';

export interface Series { name: string; values: number[] }

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** The frame every x/y chart shares: background, title, axis labels and axes around the plotted parts. */
function chartSvg(W: number, H: number, m: { l: number; r: number; t: number; b: number }, title: string, xLabel: string, yLabel: string, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><style>text{font-family:DejaVu Sans,sans-serif;font-size:12px;fill:#222}</style>` +
    `<rect width="${W}" height="${H}" fill="white"/><text x="${m.l}" y="24" style="font-size:15px">${esc(title)}</text>` +
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">${esc(xLabel)}</text>` +
    `<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>` +
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#444"/><line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#444"/>` +
    parts.join('') + '</svg>';
}

function lineChartSvg(series: Series[], title: string, yLabel: string): string {
  const W = 680;
  const H = 400;
  const m = { l: 60, r: 180, t: 40, b: 50 };
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const lo = Math.max(0, Math.floor((Math.min(...all, 1) - 0.05) * 10) / 10);
  const hi = Math.min(1, Math.ceil((Math.max(...all, 0) + 0.05) * 10) / 10);
  const x = (i: number) => m.l + (n === 1 ? 0 : (i / (n - 1)) * (W - m.l - m.r));
  const y = (v: number) => m.t + (1 - (v - lo) / Math.max(1e-9, hi - lo)) * (H - m.t - m.b);
  const parts: string[] = [];
  for (let k = 0; k <= 5; k++) {
    const v = lo + ((hi - lo) * k) / 5;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 8}" y="${y(v) + 4}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`);
  }
  // A round step giving at most 10 epoch labels (1, 20, 40, … for 150 epochs), so the labels never overlap.
  const every = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((st) => n / st <= 10) ?? Math.ceil(n / 10);
  for (let i = 0; i < n; i++) if ((i + 1) % every === 0 || i === 0) parts.push(`<text x="${x(i)}" y="${H - m.b + 18}" text-anchor="middle">${i + 1}</text>`);
  series.forEach((s, k) => {
    const c = COLORS[k % COLORS.length];
    const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2.5" points="${pts}"/>`);
    if (n <= 60) s.values.forEach((v, i) => parts.push(`<circle cx="${x(i)}" cy="${y(v)}" r="3" fill="${c}"/>`)); // dots would merge into a band
    parts.push(`<rect x="${W - m.r + 15}" y="${m.t + k * 22}" width="14" height="4" fill="${c}"/><text x="${W - m.r + 35}" y="${m.t + k * 22 + 6}">${esc(s.name)}</text>`);
  });
  return chartSvg(W, H, m, title, 'epoch', yLabel, parts);
}

const svgToPng = (svg: string) => sharp(Buffer.from(svg)).png().toBuffer();

export async function writeLineChart(file: PngTarget, series: Series[], title: string, yLabel: string): Promise<void> {
  await writePng(file, await svgToPng(lineChartSvg(series, title, yLabel)));
}

export interface Point { x: number; y: number; label: string; /** ± error bar on y (e.g. sd over seeds). */ ySd?: number }

/** A scatter of labelled points with free axes (e.g. student gain against label error), a zero line on y. */
function scatterSvg(points: Point[], title: string, xLabel: string, yLabel: string): string {
  const W = 680;
  const H = 400;
  const m = { l: 70, r: 150, t: 40, b: 50 };
  const span = (vs: number[]) => {
    const lo = Math.min(...vs);
    const hi = Math.max(...vs);
    const pad = Math.max(1e-6, (hi - lo) * 0.1);
    return [lo - pad, hi + pad];
  };
  const [x0, x1] = span(points.map((p) => p.x));
  // y always shows the zero line: gain or loss is the point of such a plot.
  const [y0, y1] = span([0, ...points.flatMap((p) => [p.y - (p.ySd ?? 0), p.y + (p.ySd ?? 0)])]);
  const tick = (v: number) => String(Number(v.toPrecision(3)));
  const x = (v: number) => m.l + ((v - x0) / (x1 - x0)) * (W - m.l - m.r);
  const y = (v: number) => m.t + (1 - (v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  for (let k = 0; k <= 5; k++) {
    const vy = y0 + ((y1 - y0) * k) / 5;
    const vx = x0 + ((x1 - x0) * k) / 5;
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(vy)}" y2="${y(vy)}" stroke="#eee"/><text x="${m.l - 8}" y="${y(vy) + 4}" text-anchor="end">${tick(vy)}</text>`);
    parts.push(`<text x="${x(vx)}" y="${H - m.b + 18}" text-anchor="middle">${tick(vx)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(0)}" y2="${y(0)}" stroke="#888" stroke-dasharray="4 3"/>`);
  points.forEach((p, k) => {
    const c = COLORS[k % COLORS.length];
    if (p.ySd) parts.push(`<line x1="${x(p.x)}" x2="${x(p.x)}" y1="${y(p.y - p.ySd)}" y2="${y(p.y + p.ySd)}" stroke="${c}" stroke-width="1.5"/>`);
    parts.push(`<circle cx="${x(p.x)}" cy="${y(p.y)}" r="5" fill="${c}"/><text x="${x(p.x) + 8}" y="${y(p.y) - 6}">${esc(p.label)}</text>`);
  });
  return chartSvg(W, H, m, title, xLabel, yLabel, parts);
}

export async function writeScatter(file: PngTarget, points: Point[], title: string, xLabel: string, yLabel: string): Promise<void> {
  await writePng(file, await svgToPng(scatterSvg(points, title, xLabel, yLabel)));
}

/** A confusion matrix as a heat map (row-normalised shading, counts printed), rows true, columns predicted. */
export function confusionSvg(matrix: number[][], names: string[], title: string): string {
  const C = matrix.length;
  const cell = Math.max(14, Math.min(48, Math.floor(560 / Math.max(1, C))));
  const axis = 22; // the rotated "true class" caption left of the row names
  const label = axis + Math.min(160, 8 + 7 * Math.max(...names.map((n) => n.length)));
  const top = 62; // title, then the "predicted class" caption above the columns
  // Wide enough for the title (DejaVu Sans at 14 px: at most ~8.5 px a character), never clipped.
  const W = Math.max(label + C * cell + 20, 16 + Math.ceil(8.5 * title.length));
  const H = top + 10 + C * cell + label - axis;
  const parts: string[] = [];
  matrix.forEach((row, i) => {
    const n = Math.max(1, row.reduce((a, b) => a + b, 0));
    row.forEach((v, j) => {
      const f = v / n;
      const shade = Math.round(255 * (1 - f));
      parts.push(`<rect x="${label + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#eee"/>`);
      if (cell >= 20 && v) parts.push(`<text x="${label + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" style="fill:${f > 0.5 ? 'white' : '#222'}">${v}</text>`);
    });
    parts.push(`<text x="${label - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${esc(names[i])}</text>`);
  });
  names.forEach((nm, j) => parts.push(`<text transform="translate(${label + j * cell + cell / 2 + 4} ${top + 4 + C * cell}) rotate(90)">${esc(nm)}</text>`));
  parts.push(`<text x="${label + (C * cell) / 2}" y="${top - 8}" text-anchor="middle" style="font-size:12px;font-weight:bold">predicted class →</text>`);
  parts.push(`<text transform="translate(${axis - 6} ${top + (C * cell) / 2}) rotate(90)" text-anchor="middle" style="font-size:12px;font-weight:bold">true class →</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><style>text{font-family:DejaVu Sans,sans-serif;font-size:11px;fill:#222}</style>` +
    `<rect width="${W}" height="${H}" fill="white"/><text x="8" y="22" style="font-size:14px">${esc(title)}</text>` + parts.join('') + '</svg>';
}

export async function writeConfusion(file: PngTarget, matrix: number[][], names: string[], title: string): Promise<void> {
  await writePng(file, await svgToPng(confusionSvg(matrix, names, title)));
}
