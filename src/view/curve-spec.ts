/**
 * The one chart definition of hookflow: a Vega-Lite line chart of scalar curves. `hookflow plot`
 * renders it to SVG/PNG in Node and the dashboard page draws it in the browser (this module has
 * no imports, so the page loads its compiled file as it is).
 */

/** One point of one curve. */
export interface CurveRow {
  /** The curve's legend label (a run, or `run_key` when one chart holds several keys). */
  series: string;
  x: number;
  y: number;
}

/** Options of {@link curveSpec}. */
export interface CurveSpecOptions {
  title?: string;
  /** `iter` or `epoch`. */
  xTitle: string;
  yTitle?: string;
  width?: number;
  height?: number;
  /** Show the legend (default true). */
  legend?: boolean;
  /** Every series name in a fixed order, so a series keeps its colour across charts. */
  seriesNames?: string[];
}

/** Name of the chart's dataset: a live page replaces its rows with `view.data(CURVE_DATA, rows)`. */
export const CURVE_DATA = 'points';

/** Curves with at most this many points get a dot on every point. */
const MAX_DOTTED_POINTS = 60;

/** A Vega-Lite spec drawing `rows` as one line per `series`, with points where they are few. */
export function curveSpec(rows: CurveRow[], options: CurveSpecOptions): Record<string, unknown> {
  const perSeries = new Map<string, number>();
  for (const row of rows) perSeries.set(row.series, (perSeries.get(row.series) ?? 0) + 1);
  const dotted = Math.max(0, ...perSeries.values()) <= MAX_DOTTED_POINTS;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(options.title ? { title: { text: options.title, anchor: 'start', fontSize: 14 } } : {}),
    width: options.width ?? 560,
    height: options.height ?? 300,
    datasets: { [CURVE_DATA]: rows },
    data: { name: CURVE_DATA },
    mark: { type: 'line', point: dotted ? { size: 24, filled: true } : false, strokeWidth: 1.8, clip: true, tooltip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle, scale: { zero: false, nice: false } },
      y: { field: 'y', type: 'quantitative', title: options.yTitle ?? null, scale: { zero: false }, axis: { format: '~g' } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        ...(options.seriesNames ? { scale: { domain: options.seriesNames } } : {}),
        legend: options.legend === false ? null : { orient: 'bottom', direction: 'horizontal', labelLimit: 360 },
      },
    },
    config: {
      font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
      view: { stroke: '#ddd' },
      axis: { gridColor: '#eee', labelColor: '#444', titleColor: '#444', titleFontWeight: 'normal' },
      range: { category: ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac'] },
    },
  };
}
