/** Charts: a Vega-Lite spec rendered to SVG in Node (no browser, no canvas) — for every report that draws. */
export async function renderVegaLite(spec: Record<string, unknown>): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const view = new vega.View(vega.parse(vl.compile(spec as never).spec), { renderer: 'none' });
  return view.toSVG();
}
