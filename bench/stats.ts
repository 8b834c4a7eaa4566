// Small statistics for benchmark reports.
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? NaN;
}

export const fmtMs = (v: number) => (Number.isNaN(v) ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
export const ratio = (ours: number, theirs: number) => (Number.isNaN(ours) || Number.isNaN(theirs) || ours === 0 ? 'n/a' : `${(theirs / ours).toFixed(1)}x`);
