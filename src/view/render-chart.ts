/**
 * Renders a Vega-Lite spec without a browser: Vega draws SVG in Node (no canvas needed: text is
 * measured by estimate), and resvg (a Rust renderer shipped prebuilt in its npm package)
 * rasterises the SVG to PNG.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The SVG of a Vega-Lite spec. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A PNG of an SVG, on white, at `scale` times its size (2 for sharp text on screens). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return resvg.render().asPng();
}
