/**
 * `hookflow plot`: MMCV's `analyze_logs.py plot_curve`. One curve per key per log, the logs
 * overlaid on one chart, written as SVG or PNG.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { curveSpec, type CurveRow } from './curve-spec.js';
import { renderSvg, svgToPng } from './render-chart.js';
import { checkRunInputs, readRunScalars } from './run-scalars.js';

/** Options of {@link plotCommand} (the command line's, as strings). */
export interface PlotOptions {
  keys?: string;
  mode?: string;
  /** `iter` or `epoch`; default `iter` in train mode, `epoch` in val mode (as MMCV plots). */
  x?: string;
  legend?: string;
  title?: string;
  out?: string;
}

/** What {@link buildPlot} makes: the chart and the curves it holds. */
export interface Plot {
  spec: Record<string, unknown>;
  curves: { label: string; source: string; key: string; points: number }[];
}

const splitList = (text: string | undefined) => (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Reads the logs and builds the chart; every option is checked here, before anything is written. */
export function buildPlot(inputs: string[], options: PlotOptions): Plot {
  const mode = options.mode ?? 'train';
  if (mode !== 'train' && mode !== 'val') throw new ConfigError('--mode', `must be 'train' or 'val'; got '${mode}'`);
  const axis = options.x ?? (mode === 'train' ? 'iter' : 'epoch');
  if (axis !== 'iter' && axis !== 'epoch') throw new ConfigError('--x', `must be 'iter' or 'epoch'; got '${axis}'`);
  const files = checkRunInputs(inputs, 'plot');
  const runs = files.map((file) => readRunScalars(file));
  const keys = splitList(options.keys);
  if (keys.length === 0) keys.push(...(mode === 'train' ? ['loss'] : Object.keys(runs[0]!.series.val).filter((k) => !/^(lr|momentum)(\.|$)/.test(k))));
  if (keys.length === 0) throw new ConfigError('--keys', `${inputs[0]} has no ${mode} records; give --keys`);
  const legend = splitList(options.legend);
  const curveCount = runs.length * keys.length;
  if (legend.length > 0 && legend.length !== runs.length && legend.length !== curveCount) {
    throw new ConfigError('--legend', `has ${legend.length} names; give one per log (${runs.length}) or one per curve (${curveCount})`);
  }
  const rows: CurveRow[] = [];
  const curves: Plot['curves'] = [];
  runs.forEach((run, r) => {
    keys.forEach((key, k) => {
      const points = run.series[mode][key];
      if (!points) {
        const known = Object.keys(run.series[mode]).join(', ') || 'none';
        throw new ConfigError('--keys', `${inputs[r]} has no ${mode} key '${key}' (its ${mode} keys: ${known})`);
      }
      const label = legend.length === curveCount ? legend[r * keys.length + k]! : `${legend[r] ?? inputs[r]}${keys.length > 1 || legend.length === 0 ? `_${key}` : ''}`;
      for (const p of points) rows.push({ series: label, x: axis === 'iter' ? p.iter : p.epoch, y: p.value });
      curves.push({ label, source: run.source, key, points: points.length });
    });
  });
  const spec = curveSpec(rows, { title: options.title, xTitle: axis, yTitle: keys.length === 1 ? keys[0] : undefined, width: 640, height: 360 });
  return { spec, curves };
}

/** `hookflow plot`: writes the chart to `--out` (SVG or PNG by its extension; default `curve.svg`). */
export async function plotCommand(inputs: string[], options: PlotOptions, print: (line: string) => void = console.log): Promise<void> {
  const out = path.resolve(options.out ?? 'curve.svg');
  const format = path.extname(out).toLowerCase();
  if (format !== '.svg' && format !== '.png') throw new ConfigError('--out', `must end in .svg or .png; got '${options.out}'`);
  const { spec, curves } = buildPlot(inputs, options);
  const svg = await renderSvg(spec);
  fs.writeFileSync(out, format === '.svg' ? svg : svgToPng(svg));
  for (const c of curves) print(`${c.label}: ${c.points} points of '${c.key}' from ${c.source}`);
  print(`saved curve to ${out}`);
}
