/**
 * The p-th percentile of ascending `sorted` by the nearest-rank method: the smallest value with at
 * least p % of the samples at or below it (of 100 samples, p99 is the 99th, not the largest).
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The middle sample of any order (of an even count, the upper of the two middle ones). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no samples');
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}
