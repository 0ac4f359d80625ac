/** A uPlot chart in a Preact component: series over days, redrawn when the data changes. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: number[];
  color: string;
  /** Bars rather than a line. */
  bars?: boolean;
}

/** A day (seconds since the epoch, UTC midnight) as the browser's language writes it: 12 Nov, Nov 12, 12 nov. */
const dayLabel = (t: number) => new Date(t * 1000).toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

export function DayChart({ title, days, series, height = 220 }: { title: string; days: string[]; series: Series[]; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current || days.length === 0) return;
    const x = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const plot = new uPlot(
      {
        width: Math.max(320, host.current.clientWidth),
        height,
        series: [
          // The legend's day, as the browser's language writes it.
          { label: 'Day', value: (_: uPlot, t: number | null) => (t === null ? '–' : dayLabel(t)) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            fill: s.bars ? `${s.color}55` : undefined,
            width: 2,
            points: { show: false },
            paths: s.bars ? uPlot.paths.bars!({ size: [0.6, 40] }) : undefined,
          })),
        ],
        axes: [{ values: (_: uPlot, ticks: number[]) => ticks.map(dayLabel) }, { size: 60 }],
        scales: { x: { time: true } },
      },
      [x, ...series.map((s) => s.values)],
      host.current,
    );
    return () => plot.destroy();
  }, [JSON.stringify(days), JSON.stringify(series)]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={host}
        role="img"
        aria-label={`${title}: ${series.map((s) => `${s.label} ${s.values.at(-1) ?? 0} on the last day`).join(', ')}`}
      />
    </figure>
  );
}
