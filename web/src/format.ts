// Number and time formatting shared by the panels.
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtPct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
export const fmtMs = (ms: number | null | undefined) =>
  ms === null || ms === undefined || !Number.isFinite(ms)
    ? '–'
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : ms >= 10
        ? `${ms.toFixed(0)} ms`
        : ms >= 1
          ? `${ms.toFixed(1)} ms`
          : ms > 0
            ? `${ms.toPrecision(2)} ms`
            : '0 ms';
export const fmtUsd = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x)
    ? '–'
    : Math.abs(x) >= 1
      ? `$${x.toFixed(2)}`
      : Math.abs(x) >= 0.01
        ? `$${x.toFixed(3)}`
        : `$${x.toPrecision(2)}`;
export const fmtNum = (x: number | null | undefined, digits = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
export const fmtTime = (ts: number) => new Date(ts).toISOString().replace('T', ' ').slice(0, 19);
export const fmtAgo = (ts: number, now = Date.now()) => {
  const s = Math.max(0, Math.round((now - ts) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

/** Okabe–Ito: eight colours told apart with every common colour-vision deficiency. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
/** Line dashes, so series differ by more than colour. */
export const DASHES: number[][] = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 2], [12, 6], [6, 2, 2, 2]];
