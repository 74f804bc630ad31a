/**
 * The report's two charts, as standalone SVG written by hand (no chart library):
 *   ratiosChart: one horizontal bar per case and reference, wgrad's speedup on a log₂ axis centred on
 *     1× (bars to the right: wgrad faster);
 *   scalingChart: one log-log panel per scaling series (matmul over N, attention over T), ms per call
 *     for each contender, so an O(N³) kernel is a straight line of slope 3.
 */
import type { BenchResults, Row } from './schema.js';

const FONT = 'font-family="system-ui, sans-serif" font-size="12"';
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return Number(n.toFixed(2)).toString();
}

/** Every (case, reference) pair with a measured speedup, scaling rows left to the scaling chart. */
function ratioBars(results: BenchResults): { label: string; reference: string; speedup: number }[] {
  const bars: { label: string; reference: string; speedup: number }[] = [];
  for (const suite of results.suites) {
    for (const row of suite.rows.filter((r) => !r.scaling)) {
      for (const [ref, speedup] of Object.entries(row.speedup)) {
        if (speedup != null && speedup > 0) bars.push({ label: `${suite.name.replace(/^kernels\//, '')}: ${row.case}`, reference: suite.references[ref] ?? ref, speedup });
      }
    }
  }
  return bars;
}

export function ratiosChart(results: BenchResults): string {
  const bars = ratioBars(results);
  const references = [...new Set(bars.map((b) => b.reference))];
  const [labelWidth, plotWidth, barHeight] = [330, 420, 16];
  const width = labelWidth + plotWidth + 70;
  const legendRows = Math.ceil(references.length / legendPerRow(width));
  const top = 40 + 16 * legendRows;
  const height = top + Math.max(1, bars.length) * (barHeight + 4) + 40;
  const logs = bars.map((b) => Math.log2(b.speedup));
  const extent = Math.max(1, Math.ceil(Math.max(0, ...logs.map(Math.abs))));
  const x = (log2: number) => labelWidth + ((log2 + extent) / (2 * extent)) * plotWidth;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">wgrad speedup over each reference (log scale; right of 1×: wgrad faster)</text>`,
  ];
  out.push(...legend(references, width, 32));
  const axisBottom = height - 32;
  for (let e = -extent; e <= extent; e++) {
    const value = 2 ** e;
    out.push(`<line x1="${fmt(x(e))}" y1="${top - 6}" x2="${fmt(x(e))}" y2="${axisBottom}" stroke="${e === 0 ? '#111' : '#ddd'}"/>`);
    out.push(`<text x="${fmt(x(e))}" y="${axisBottom + 14}" text-anchor="middle">${value >= 1 ? value : `1/${1 / value}`}×</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * (barHeight + 4);
    const [from, to] = [x(0), x(Math.max(-extent, Math.min(extent, Math.log2(b.speedup))))];
    const color = COLORS[references.indexOf(b.reference) % COLORS.length];
    out.push(`<text x="${labelWidth - 8}" y="${y + 12}" text-anchor="end">${escapeXml(b.label)}</text>`);
    out.push(`<rect x="${fmt(Math.min(from, to))}" y="${y}" width="${fmt(Math.max(1, Math.abs(to - from)))}" height="${barHeight}" fill="${color}"><title>${escapeXml(`${b.label} vs ${b.reference}: ${b.speedup.toFixed(2)}×`)}</title></rect>`);
    out.push(`<text x="${fmt(Math.max(from, to) + 4)}" y="${y + 12}">${b.speedup.toFixed(2)}×</text>`);
  });
  if (bars.length === 0) out.push(`<text x="${labelWidth}" y="${top + 12}">no case had both wgrad and a reference timed</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const LEGEND_STEP = 160;

function legendPerRow(width: number): number {
  return Math.max(1, Math.floor((width - 20) / LEGEND_STEP));
}

/** Colour swatches with their labels, wrapped into rows that fit the chart's width. */
function legend(labels: string[], width: number, y: number): string[] {
  const perRow = legendPerRow(width);
  return labels.flatMap((label, i) => {
    const [x, row] = [10 + (i % perRow) * LEGEND_STEP, y + 16 * Math.floor(i / perRow)];
    return [`<rect x="${x}" y="${row}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`, `<text x="${x + 14}" y="${row + 9}">${escapeXml(label)}</text>`];
  });
}

interface Series {
  name: string;
  parameter: string;
  /** contender label → (size, ms) points. */
  lines: Map<string, [number, number][]>;
}

function scalingSeries(results: BenchResults): Series[] {
  const series = new Map<string, Series>();
  for (const suite of results.suites) {
    for (const row of suite.rows.filter((r): r is Row & { scaling: NonNullable<Row['scaling']> } => !!r.scaling)) {
      const s = series.get(row.scaling.series) ?? { name: row.scaling.series, parameter: row.scaling.parameter, lines: new Map() };
      series.set(s.name, s);
      const outcomes = [['wgrad', row.wgrad] as const, ...Object.entries(row.references).map(([id, o]) => [suite.references[id] ?? id, o] as const)];
      for (const [label, o] of outcomes) {
        if (o.status !== 'timed') continue;
        const points = s.lines.get(label) ?? [];
        points.push([row.scaling.size, (o.medianSeconds / o.units) * 1e3]);
        s.lines.set(label, points);
      }
    }
  }
  return [...series.values()];
}

export function scalingChart(results: BenchResults): string {
  const all = scalingSeries(results);
  const [panelWidth, panelHeight, margin] = [420, 300, 80];
  const width = Math.max(1, all.length) * (panelWidth + margin) + margin;
  const height = panelHeight + 2 * margin + 20;
  const labels = [...new Set(all.flatMap((s) => [...s.lines.keys()]))];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">How time grows with size (ms per call, log-log)</text>`,
  ];
  out.push(...legend(labels, width, 30));
  all.forEach((s, p) => {
    const left = margin + p * (panelWidth + margin);
    const top = margin;
    const points = [...s.lines.values()].flat();
    const [sizes, times] = [points.map((q) => q[0]), points.map((q) => q[1])];
    const [x0, x1] = [Math.log2(Math.min(...sizes)), Math.log2(Math.max(...sizes))];
    const [y0, y1] = [Math.floor(Math.log10(Math.min(...times))), Math.ceil(Math.log10(Math.max(...times)))];
    const px = (size: number) => left + ((Math.log2(size) - x0) / Math.max(1e-9, x1 - x0)) * panelWidth;
    const py = (ms: number) => top + panelHeight - ((Math.log10(ms) - y0) / Math.max(1e-9, y1 - y0)) * panelHeight;
    out.push(`<text x="${left}" y="${top - 8}" font-weight="bold">${escapeXml(`${s.name} (${s.parameter})`)}</text>`);
    out.push(`<rect x="${left}" y="${top}" width="${panelWidth}" height="${panelHeight}" fill="none" stroke="#999"/>`);
    for (let e = y0; e <= y1; e++) {
      out.push(`<line x1="${left}" y1="${fmt(py(10 ** e))}" x2="${left + panelWidth}" y2="${fmt(py(10 ** e))}" stroke="#eee"/>`);
      out.push(`<text x="${left - 6}" y="${fmt(py(10 ** e) + 4)}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toPrecision(1)} ms</text>`);
    }
    for (const size of [...new Set(sizes)].sort((a, b) => a - b)) {
      out.push(`<text x="${fmt(px(size))}" y="${top + panelHeight + 16}" text-anchor="middle">${size}</text>`);
    }
    for (const [label, pts] of s.lines) {
      const color = COLORS[labels.indexOf(label) % COLORS.length];
      const sorted = [...pts].sort((a, b) => a[0] - b[0]);
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${sorted.map(([n, ms]) => `${fmt(px(n))},${fmt(py(ms))}`).join(' ')}"/>`);
      for (const [n, ms] of sorted) out.push(`<circle cx="${fmt(px(n))}" cy="${fmt(py(ms))}" r="3" fill="${color}"><title>${escapeXml(`${label}, ${s.parameter} = ${n}: ${ms.toPrecision(3)} ms`)}</title></circle>`);
    }
  });
  if (all.length === 0) out.push(`<text x="${margin}" y="${margin + 20}">no scaling runs in these results</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
