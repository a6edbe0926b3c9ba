/** A busy interval in ms since the epoch, end exclusive. */
export interface Interval {
  start: number;
  end: number;
}

/** Clips to [from, to), drops empty intervals, sorts and merges overlapping or touching ones. */
export function mergeIntervals(intervals: Iterable<Interval>, from: number, to: number): Interval[] {
  const clipped: Interval[] = [];
  for (const i of intervals) {
    const start = Math.max(i.start, from);
    const end = Math.min(i.end, to);
    if (end > start) clipped.push({ start, end });
  }
  clipped.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Interval[] = [];
  for (const i of clipped) {
    const last = merged[merged.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else merged.push({ ...i });
  }
  return merged;
}

export const toIso = (ms: number) => new Date(ms).toISOString();
