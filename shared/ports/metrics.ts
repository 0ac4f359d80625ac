import type { DimensionsOf, MetricId } from '../contracts/metrics';

/** Port: the metrics of one invocation, written once at its end (`shared/contracts/metrics.ts` lists them). */
export interface MetricsRecorder {
  /** A value of `metric` (a count, or one sample of a distribution), split by its dimensions. */
  add<M extends MetricId>(metric: M, value: number, dimensions: DimensionsOf<M>): void;
  /** Writes what was added since the last flush, and forgets it. */
  flush(): void;
}

/** For callers that record nothing (tests, tools). */
export const NO_METRICS: MetricsRecorder = { add: () => undefined, flush: () => undefined };
