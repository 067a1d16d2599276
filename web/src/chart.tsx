// A time-series chart (uPlot): one line per model, Okabe–Ito colours and distinct dashes, a
// caption for screen readers, and the same numbers in a table behind a disclosure.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import { DASHES, fmtTime, PALETTE } from './format.js';

export interface Series {
  label: string;
  /** One value per x (null: no data that step). */
  values: Array<number | null>;
}

interface Props {
  title: string;
  /** Step starts, epoch ms. */
  x: number[];
  series: Series[];
  format: (v: number) => string;
  /** The width of one step, ms: the x axis spans the steps shown, half a step either side. */
  stepMs: number;
  height?: number;
}

export function TimeChart({ title, x, series, format, stepMs, height = 220 }: Props) {
  const host = useRef<HTMLDivElement>(null);
  // the plot is rebuilt when its numbers change, not on every refresh that brought the same ones
  const fmt = useRef(format);
  fmt.current = format;
  const content = JSON.stringify([x, series, stepMs, height]);
  useEffect(() => {
    const format = (v: number) => fmt.current(v);
    const el = host.current;
    if (!el || !x.length) return;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { points: { size: 6 } },
      scales: {
        x: { time: true, auto: false, range: [x[0]! / 1000 - stepMs / 2000, x.at(-1)! / 1000 + stepMs / 2000] },
        y: { range: (_u, _lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] },
      },
      axes: [{}, { values: (_u, ticks) => ticks.map((t) => format(t)), size: 70 }],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          dash: DASHES[i % DASHES.length],
          width: 2,
          points: { show: x.length < 3 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : format(v)),
        })),
      ],
    };
    const data = [x.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData;
    const plot = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
    // `content` stands for x, series, stepMs and height
  }, [content]);
  const summary = series
    .map((s) => {
      const v = s.values.filter((n): n is number => n !== null);
      return v.length ? `${s.label}: latest ${format(v.at(-1)!)}` : `${s.label}: no data`;
    })
    .join('; ');
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {x.length ? (
        <div ref={host} role="img" aria-label={`${title}. ${summary}`} />
      ) : (
        <p class="empty">No data in this range.</p>
      )}
      {x.length > 0 && (
        <details>
          <summary>{title}: the numbers</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                {series.map((s) => (
                  <th scope="col">{s.label}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {x.map((t, i) => (
                <tr>
                  <td>{fmtTime(t)}</td>
                  {series.map((s) => (
                    <td>{s.values[i] === null || s.values[i] === undefined ? '–' : format(s.values[i]!)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}

/**
 * Pivots rows (t, name, value) into a chart's x and one series per name, in `names`' order: the
 * name is the row's model unless `nameOf` says otherwise; a row whose name is not listed is summed
 * into `rest` when given (e.g. "other keys"), else left out.
 */
export function pivot<T extends { t: number }>(
  rows: readonly T[],
  names: readonly string[],
  value: (r: T) => number | null,
  nameOf: (r: T) => string = (r) => (r as T & { model: string }).model,
  rest?: string,
): { x: number[]; series: Series[] } {
  const x = [...new Set(rows.map((r) => r.t))].sort((a, b) => a - b);
  const at = new Map(x.map((t, i) => [t, i]));
  const labels = [...names, ...(rest ? [rest] : [])];
  const series = labels.map((m) => ({ label: m, values: x.map((): number | null => null) }));
  const idx = new Map(series.map((s, i) => [s.label, i]));
  for (const r of rows) {
    const s = idx.get(nameOf(r)) ?? (rest ? idx.get(rest) : undefined);
    if (s === undefined) continue;
    const v = value(r);
    const i = at.get(r.t)!;
    const was = series[s]!.values[i];
    series[s]!.values[i] = v === null ? (was ?? null) : (was ?? 0) + v;
  }
  return { x, series: series.filter((s) => s.values.some((v) => v !== null)) };
}
