import { describe, expect, it } from 'vitest';
import { correctedTimestamp, jsonDepth, LIMITS, type ParseOptions, parseEvents } from '#shared/domain/events';

const receivedAt = Date.parse('2026-03-15T10:00:00.000Z');
const options: ParseOptions = {
  source: { sourceId: 'web-shop', defaultChannel: 'web' },
  receivedAt,
  newMessageId: (index) => `generated-${index}`,
};

describe('parseEvents', () => {
  it('accepts a track call and enriches it with channel, source and times', () => {
    const { accepted, rejected } = parseEvents(
      'track',
      { userId: 'u1', event: 'Order Completed', messageId: 'm1', properties: { revenue: 42 } },
      options,
    );
    expect(rejected).toEqual([]);
    expect(accepted).toEqual([
      expect.objectContaining({
        messageId: 'm1',
        type: 'track',
        userId: 'u1',
        event: 'Order Completed',
        channel: 'web',
        sourceId: 'web-shop',
        timestamp: '2026-03-15T10:00:00.000Z',
        receivedAt: '2026-03-15T10:00:00.000Z',
      }),
    ]);
  });

  it('names the index, field and reason of each rejected batch item and keeps the valid ones', () => {
    const { accepted, rejected } = parseEvents(
      'batch',
      {
        batch: [
          { type: 'track', userId: 'u1', event: 'Signed Up' },
          { type: 'track', userId: 'u2' },
          { type: 'identify' },
          'not an event',
          { type: 'launch', userId: 'u3' },
          { type: 'identify', userId: 'u4', traits: 'vip' },
        ],
      },
      options,
    );
    expect(accepted.map((e) => e.userId)).toEqual(['u1']);
    expect(rejected).toEqual([
      { index: 1, field: 'event', reason: 'is required' },
      { index: 2, field: 'userId', reason: 'userId or anonymousId is required' },
      { index: 3, field: '', reason: 'must be a JSON object' },
      { index: 4, field: 'type', reason: 'must be one of identify, track, page, screen, group, alias' },
      { index: 5, field: 'traits', reason: 'must be a JSON object' },
    ]);
  });

  it('rejects an event over 32 KB', () => {
    const big = { type: 'track', userId: 'u1', event: 'Big', properties: { blob: 'x'.repeat(LIMITS.eventBytes) } };
    const { rejected } = parseEvents('batch', { batch: [big] }, options);
    expect(rejected).toEqual([{ index: 0, field: '', reason: 'event is larger than 32 KB' }]);
  });

  it('merges the batch context into each event and lets an event override the channel', () => {
    const { accepted } = parseEvents(
      'batch',
      {
        context: { library: { name: 'till' }, channel: 'store' },
        batch: [
          { type: 'track', userId: 'u1', event: 'Order Completed' },
          {
            type: 'track',
            userId: 'u1',
            event: 'Order Completed',
            properties: { channel: 'nowhere' },
            context: { channel: 'call_center' },
          },
        ],
      },
      options,
    );
    expect(accepted.map((e) => e.channel)).toEqual(['store', 'call_center']);
    expect(accepted[0]!.context.library).toEqual({ name: 'till' });
  });

  it('gives events without a messageId the id the caller derives, so retries dedupe', () => {
    const { accepted } = parseEvents(
      'batch',
      {
        batch: [
          { type: 'page', anonymousId: 'a1' },
          { type: 'page', anonymousId: 'a1' },
        ],
      },
      options,
    );
    expect(accepted.map((e) => e.messageId)).toEqual(['generated-0', 'generated-1']);
  });

  it('gives pages and screens the reserved properties.name from their name, as analytics.js does', () => {
    const { accepted } = parseEvents(
      'batch',
      {
        batch: [
          { type: 'page', anonymousId: 'a1', name: 'Pricing', properties: { path: '/pricing' } },
          { type: 'screen', userId: 'u1', name: 'Basket', properties: { name: 'Cart' } },
          { type: 'track', userId: 'u1', event: 'X', name: 'not a page' },
        ],
      },
      options,
    );
    expect(accepted.map((e) => e.properties)).toEqual([{ path: '/pricing', name: 'Pricing' }, { name: 'Cart' }, {}]);
  });

  it('corrects the client clock with the sentAt of the batch', () => {
    const { accepted } = parseEvents(
      'batch',
      // The device clock runs 1 hour behind; the event happened 5 s before it was sent.
      { sentAt: '2026-03-15T09:00:05.000Z', batch: [{ type: 'track', userId: 'u1', event: 'X', timestamp: '2026-03-15T09:00:00.000Z' }] },
      options,
    );
    expect(accepted[0]!.timestamp).toBe('2026-03-15T09:59:55.000Z');
  });
});

describe('correctedTimestamp', () => {
  it('uses receivedAt when the client gives no time', () => {
    expect(correctedTimestamp(1000)).toBe(1000);
  });
  it('never places an event in the future', () => {
    expect(correctedTimestamp(1000, 5000)).toBe(1000);
    expect(correctedTimestamp(1000, undefined, 900, 800)).toBe(1000);
  });
  it('keeps historical timestamps of an import', () => {
    expect(correctedTimestamp(10_000, 2_000, undefined, 10_000)).toBe(2_000);
  });

  it('refuses nesting deeper than DynamoDB can keep, naming the field, and measures depth without parsing', () => {
    const deep = (levels: number): unknown => (levels === 0 ? 1 : { a: deep(levels - 1) });
    const { accepted, rejected } = parseEvents(
      'batch',
      {
        batch: [
          { type: 'track', userId: 'u', event: 'E', properties: deep(LIMITS.objectDepth + 1) },
          { type: 'identify', userId: 'u', traits: deep(LIMITS.objectDepth) },
        ],
      },
      options,
    );
    expect(rejected).toEqual([{ index: 0, field: 'properties', reason: `is nested more than ${LIMITS.objectDepth} levels deep` }]);
    expect(accepted).toHaveLength(1);
    expect(jsonDepth('{"a":[1,{"b":"[[[["}]}')).toBe(3); // brackets inside strings do not count
    expect(jsonDepth(JSON.stringify({ k: 'a"[[b' }))).toBe(1); // nor do escaped quotes end a string
    expect(jsonDepth('['.repeat(100_000), 64)).toBe(65); // stops counting past the limit
  });
});
