/**
 * Metrics in CloudWatch's embedded metric format, through Powertools: one EMF document per invocation
 * and dimension set, printed to stdout, where CloudWatch Logs turns it into metrics with no API call.
 * Locally (`write`), the same documents go to a file, one JSON line each.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS, METRICS_NAMESPACE } from '../../contracts/metrics';
import type { MetricsRecorder } from '../../ports/metrics';

/**
 * Powertools publishes by itself when a metric reaches 100 values (an EMF document's limit), to stdout:
 * locally those documents must go where the others go, or `prisme stats` would miss them.
 */
class WrittenMetrics extends Metrics {
  constructor(
    options: ConstructorParameters<typeof Metrics>[0],
    private readonly write: (line: string) => void,
  ) {
    super(options);
  }

  override publishStoredMetrics(): this {
    if (this.hasStoredMetrics()) this.write(JSON.stringify(this.serializeMetrics()));
    this.clearMetrics();
    return this;
  }
}

export class EmfRecorder implements MetricsRecorder {
  /** One Powertools instance per dimension set (an EMF document holds one), kept across invocations: the sets are few. */
  private readonly bySet = new Map<string, Metrics>();

  constructor(
    private readonly service: string,
    private readonly write?: (line: string) => void,
  ) {}

  add(metric: keyof typeof METRICS, value: number, dimensions: Readonly<Record<string, string>>): void {
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    let metrics = this.bySet.get(key);
    if (!metrics) {
      const options = { namespace: METRICS_NAMESPACE, serviceName: this.service, defaultDimensions: { ...dimensions } };
      metrics = this.write ? new WrittenMetrics(options, this.write) : new Metrics(options);
      this.bySet.set(key, metrics);
    }
    const { name, unit } = METRICS[metric];
    metrics.addMetric(name, unit as Parameters<Metrics['addMetric']>[1], value);
  }

  flush(): void {
    for (const metrics of this.bySet.values()) if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}
