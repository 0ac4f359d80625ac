import type middy from '@middy/core';
import type { Logger } from '../../logger';
import type { MetricsRecorder } from '../../ports/metrics';

/** middy middleware: writes the invocation's metrics at its end, whether it succeeded or failed. */
export function flushMetrics<E, R>(metrics: MetricsRecorder, logger: Logger): middy.MiddlewareObj<E, R> {
  const flush = async () => {
    try {
      metrics.flush();
    } catch (error) {
      // Metrics describe the work; they never fail it.
      logger.warn('metrics not written', { error: error as Error });
    }
  };
  return { after: flush, onError: flush };
}
