/** Expected calibration error over equal-width bins, and the reliability curve. */
export function calibration(
  pred: readonly number[],
  outcome: readonly number[],
  bins = 10,
): { ece: number; curve: Array<{ bin: number; predicted: number; observed: number; n: number }> } {
  const acc = Array.from({ length: bins }, () => ({ n: 0, p: 0, o: 0 }));
  pred.forEach((p, i) => {
    const b = acc[Math.min(bins - 1, Math.max(0, Math.floor(p * bins)))]!;
    b.n++;
    b.p += p;
    b.o += outcome[i]!;
  });
  const total = pred.length || 1;
  const ece = acc.reduce((s, b) => s + (b.n ? Math.abs(b.o - b.p) : 0), 0) / total;
  return {
    ece,
    curve: acc.flatMap((b, i) => (b.n ? [{ bin: i, predicted: b.p / b.n, observed: b.o / b.n, n: b.n }] : [])),
  };
}
