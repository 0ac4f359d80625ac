/** Tracing is opt-in: off, a handler is itself; on, it still answers and fails exactly as before. */
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { traced } from '#shared/adapters/tracing';

const context = { functionName: 'prisme-test', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

describe('traced', () => {
  it('leaves the handler as it is when tracing is off', () => {
    const handler = async (event: { n: number }) => event.n + 1;
    expect(traced(handler, false)).toBe(handler);
  });

  it('passes answers and errors through when on (outside Lambda, Powertools records nothing)', async () => {
    const handler = traced(async (event: { n: number }) => {
      if (event.n < 0) throw new RangeError('negative');
      return event.n + 1;
    }, true);
    expect(await handler({ n: 1 }, context)).toBe(2);
    await expect(handler({ n: -1 }, context)).rejects.toThrow(RangeError);
  });
});
