/**
 * The EMF recorder as the local runtime uses it (documents to a file): every value reaches the file,
 * even past the 100 values an EMF document holds, when Powertools publishes on its own, and nothing
 * goes to stdout, where `prisme stats` would never see it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmfRecorder } from '#shared/adapters/metrics/emf-recorder';

afterEach(() => vi.restoreAllMocks());

describe('EmfRecorder, writing to a file', () => {
  it('writes every value of a large invocation, in documents of at most 100 values, and nothing to stdout', () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const lines: string[] = [];
    const recorder = new EmfRecorder('processor', (line) => lines.push(line));
    for (let i = 0; i < 250; i++) recorder.add('processingLag', i, {});
    recorder.add('eventsProcessed', 7, {});
    recorder.flush();
    const documents = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const lags = documents.flatMap((d) => [d.ProcessingLag ?? []].flat() as number[]);
    expect(lags).toHaveLength(250);
    expect(lags.reduce((a, b) => a + b, 0)).toBe((249 * 250) / 2);
    expect(documents.map((d) => d.EventsProcessed).filter((v) => v !== undefined)).toEqual([7]);
    for (const d of documents) expect([d.ProcessingLag ?? []].flat().length).toBeLessThanOrEqual(100);
    expect(stdout.mock.calls.filter(([chunk]) => String(chunk).includes('"_aws"'))).toEqual([]);
    recorder.flush();
    expect(lines).toHaveLength(documents.length); // nothing twice
  });
});
