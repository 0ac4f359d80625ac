/**
 * What the local runtime's metrics file says (`<data dir>/metrics.jsonl`, one EMF document a line, as
 * CloudWatch would read them on AWS): each metric summed by service and dimensions, or, for
 * distributions (lags and durations), its count, median, 95th percentile and maximum.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { METRICS } from '#shared/contracts/metrics';

export interface MetricLine {
  metric: string;
  /** `service=processor reason=PoisonMessageError`. */
  dimensions: string;
  unit: string;
  samples: number;
  sum: number;
  p50: number;
  p95: number;
  max: number;
}

interface EmfDocument {
  _aws?: { Timestamp?: number; CloudWatchMetrics?: Array<{ Dimensions?: string[][]; Metrics?: Array<{ Name: string; Unit?: string }> }> };
  [field: string]: unknown;
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

/** Sums the documents of `file` written at or after `since` (epoch ms). */
export async function summariseMetrics(file: string, since = 0): Promise<MetricLine[]> {
  const samples = new Map<string, { metric: string; dimensions: string; unit: string; values: number[] }>();
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let document: EmfDocument;
    try {
      document = JSON.parse(line) as EmfDocument;
    } catch {
      continue; // a line cut by a crash: the others still count
    }
    if ((document._aws?.Timestamp ?? 0) < since) continue;
    for (const directive of document._aws?.CloudWatchMetrics ?? []) {
      const dimensions = (directive.Dimensions?.[0] ?? []).map((name) => `${name}=${String(document[name])}`).join(' ');
      for (const { Name, Unit } of directive.Metrics ?? []) {
        const value = document[Name];
        const values = (Array.isArray(value) ? value : [value]).filter((v): v is number => typeof v === 'number');
        const key = `${Name}\u0000${dimensions}`;
        const entry = samples.get(key) ?? { metric: Name, dimensions, unit: Unit ?? 'None', values: [] };
        entry.values.push(...values);
        samples.set(key, entry);
      }
    }
  }
  const order = Object.values(METRICS).map((m) => m.name as string);
  return [...samples.values()]
    .map(({ metric, dimensions, unit, values }) => {
      const sorted = [...values].sort((a, b) => a - b);
      return {
        metric,
        dimensions,
        unit,
        samples: values.length,
        sum: values.reduce((total, v) => total + v, 0),
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        max: sorted.at(-1) ?? 0,
      };
    })
    .sort((a, b) => order.indexOf(a.metric) - order.indexOf(b.metric) || a.dimensions.localeCompare(b.dimensions));
}

/** Counts as sums; lags and durations as distributions. */
export function formatSummary(lines: readonly MetricLine[]): string {
  if (lines.length === 0) return 'No metrics yet.';
  const rows = lines.map((l) =>
    l.unit === 'Count'
      ? [l.metric, l.dimensions, String(l.sum), '']
      : [
          l.metric,
          l.dimensions,
          `${l.samples} samples`,
          `p50 ${l.p50} p95 ${l.p95} max ${l.max} ${l.unit === 'Milliseconds' ? 'ms' : 's'}`,
        ],
  );
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => [r[0]!.padEnd(widths[0]!), r[1]!.padEnd(widths[1]!), r[2]!.padStart(widths[2]!), r[3]].join('  ').trimEnd())
    .join('\n');
}
