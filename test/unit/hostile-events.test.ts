/**
 * What careless and hostile clients send to the ingest contract: identifiers that are not well-formed
 * Unicode, placeholder ids, times outside any calendar, and batch contexts that would multiply in the
 * queue. Each is either accepted as something the processor can use or refused naming index and field.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EARLIEST_EVENT_TIME, LIMITS, type ParseOptions, parseEvents, queuedBytesAllowed } from '#shared/domain/events';
import { cleanIdentifierText, DEFAULT_IDENTITY_CONFIG, identifiersOf } from '#shared/domain/identity';

const receivedAt = Date.parse('2026-12-03T10:00:00.000Z');
const options: ParseOptions = { source: { sourceId: 'web', defaultChannel: 'web' }, receivedAt, newMessageId: (i) => `gen-${i}` };
// UTF-16 code units at random (lone surrogates included), code points, and composed graphemes.
const anyText = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 }).map((units) => String.fromCharCode(...units)),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme-composite' }),
);
const track = (fields: Record<string, unknown>) => ({ type: 'track', event: 'E', ...fields });

describe('identifier text', () => {
  it('is well-formed, NFC, free of control characters and stable, for any string', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        const clean = cleanIdentifierText(raw);
        // Well-formed: UTF-8 (DynamoDB's encoding) gives it back unchanged, so distinct ids stay distinct keys.
        expect(Buffer.from(clean, 'utf8').toString('utf8')).toBe(clean);
        expect(clean.normalize('NFC')).toBe(clean);
        expect(clean).not.toMatch(/\p{Cc}/u);
        expect(cleanIdentifierText(clean)).toBe(clean);
      }),
      { numRuns: 2000, seed: 15 },
    );
  });

  it('gives ids that DynamoDB would store as one key the same value, and keeps different ones apart', () => {
    expect(cleanIdentifierText('a\uD800')).toBe(cleanIdentifierText('a\uDC00'));
    expect(cleanIdentifierText('a\uD800')).toBe('a\uFFFD');
    expect(cleanIdentifierText('\uD83D\uDE00')).toBe('\uD83D\uDE00'); // a real pair stays
    expect(cleanIdentifierText('Jose\u0301')).toBe('Jos\u00E9');
    expect(cleanIdentifierText(' ada\u0000\u0007\n')).toBe('ada');
    const { accepted } = parseEvents('batch', { batch: [track({ userId: 'a\uD800' }), track({ userId: 'a\uDC00' })] }, options);
    expect(new Set(accepted.map((e) => e.userId))).toEqual(new Set(['a\uFFFD']));
  });

  it('cleans identifiers read from traits, properties and external ids as well', () => {
    const [event] = parseEvents(
      'identify',
      {
        userId: 'u',
        traits: { email: 'Ada\u0000@Example.com', loyaltyCard: 'c\uDC00' },
        context: { externalIds: [{ type: 'crm', id: 'x\uD800' }] },
      },
      options,
    ).accepted;
    expect(identifiersOf(event!).map((id) => `${id.type}:${id.value}`)).toEqual([
      'userId:u',
      'email:ada@example.com',
      'loyaltyCard:c\uFFFD',
      'crm:x\uFFFD',
    ]);
  });
});

describe('placeholder identifiers', () => {
  it('refuses an event whose only identifiers are placeholders, naming the field, and keeps one that has another', () => {
    const { accepted, rejected } = parseEvents(
      'batch',
      {
        batch: [
          track({ userId: 'test' }),
          track({ anonymousId: 'null' }),
          track({ userId: '0', anonymousId: 'anon-1' }),
          { type: 'identify', userId: '-1', traits: { email: 'ada@example.com' } },
          track({ userId: '\u0000\u0001' }),
        ],
      },
      options,
    );
    expect(rejected.map(({ index, field }) => ({ index, field }))).toEqual([
      { index: 0, field: 'userId' },
      { index: 1, field: 'anonymousId' },
      { index: 4, field: 'userId' },
    ]);
    expect(rejected[0]!.reason).toMatch(/identifies nobody/);
    // The placeholder is dropped as an identifier; the event counts for the others.
    expect(accepted.map((e) => identifiersOf(e).map((id) => id.type))).toEqual([['anonymousId'], ['email']]);
  });

  it('follows the configured blocked patterns', () => {
    const identity = { ...DEFAULT_IDENTITY_CONFIG, blockedPatterns: [/^qa-/i] };
    const { rejected } = parseEvents('track', { userId: 'QA-robot', event: 'E' }, { ...options, identity });
    expect(rejected).toEqual([{ index: 0, field: 'userId', reason: expect.stringMatching(/identifies nobody/) }]);
  });

  it('never accepts an event the processor could not fold into someone (any identifiers)', () => {
    const idish = fc.oneof(
      fc.constantFrom('0', '-1', 'null', 'test', 'anonymous', '', ' ', '\u0000', 'N/A', 'ok-id'),
      fc.string({ maxLength: 8 }),
      fc.integer(),
    );
    fc.assert(
      fc.property(fc.record({ userId: idish, anonymousId: idish }, { requiredKeys: [] }), (ids) => {
        const { accepted } = parseEvents('track', { event: 'E', ...ids }, options);
        for (const event of accepted) expect(identifiersOf(event).length).toBeGreaterThan(0);
      }),
      { numRuns: 1000, seed: 15 },
    );
  });
});

describe('event times', () => {
  const extremes = fc.oneof(
    fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms).toISOString()),
    fc.constantFrom(
      '+275760-09-13T00:00:00.000Z',
      '-271821-04-20T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '+010000-01-01T00:00:00.000Z',
      '1899-12-31T23:59:59.999Z',
      '0000-01-01T00:00:00Z',
    ),
    fc.date({ min: new Date('1990-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  );

  it('are accepted inside [1900, the time received] or refused naming the field, whatever the client sends', () => {
    fc.assert(
      fc.property(
        fc.record({ timestamp: extremes, originalTimestamp: extremes, sentAt: extremes }, { requiredKeys: [] }),
        extremes,
        (times, batchSentAt) => {
          const { accepted, rejected } = parseEvents('batch', { sentAt: batchSentAt, batch: [track({ userId: 'u', ...times })] }, options);
          for (const event of accepted) {
            const at = Date.parse(event.timestamp);
            expect(at).toBeGreaterThanOrEqual(EARLIEST_EVENT_TIME);
            expect(at).toBeLessThanOrEqual(receivedAt);
          }
          for (const rejection of rejected) expect(['timestamp', 'originalTimestamp', 'sentAt']).toContain(rejection.field);
          expect(accepted.length + (rejected.length > 0 ? 1 : 0)).toBe(1);
        },
      ),
      { numRuns: 2000, seed: 15 },
    );
  });

  it('refuses a year outside 1900 - 9999, and clamps a skew correction that lands before 1900', () => {
    const { rejected } = parseEvents(
      'track',
      { userId: 'u', event: 'E', timestamp: '-271821-04-20T00:00:00.000Z', sentAt: '+275760-09-13T00:00:00.000Z' },
      options,
    );
    expect(rejected.map((r) => r.field).sort()).toEqual(['sentAt', 'timestamp']);
    const [event] = parseEvents(
      'track',
      { userId: 'u', event: 'E', originalTimestamp: '1900-01-02T00:00:00Z', sentAt: '9999-12-31T00:00:00Z' },
      options,
    ).accepted;
    expect(event!.timestamp).toBe(new Date(EARLIEST_EVENT_TIME).toISOString());
  });
});

describe('the batch context', () => {
  it('counts against the per-event limit once merged into the event', () => {
    const context = { page: { path: 'x'.repeat(2000) } };
    const { accepted, rejected } = parseEvents(
      'batch',
      { context, batch: [track({ userId: 'u', properties: { blob: 'y'.repeat(LIMITS.eventBytes - 1000) } }), track({ userId: 'u' })] },
      options,
    );
    expect(rejected).toEqual([
      { index: 0, field: 'context', reason: "event is larger than 32 KB with the batch's context merged into it" },
    ]);
    expect(accepted).toHaveLength(1);
  });

  it("weighs its copies, so a request's growth in the queue can be bounded by its size", () => {
    const context = { blob: 'z'.repeat(30_000) };
    const batch = Array.from({ length: 100 }, (_, i) => track({ userId: `u${i}` }));
    const request = { context, batch };
    const { accepted, queuedBytes } = parseEvents('batch', request, options);
    expect(accepted).toHaveLength(100);
    expect(queuedBytes).toBeGreaterThan(100 * 30_000);
    expect(queuedBytes).toBeGreaterThan(queuedBytesAllowed(Buffer.byteLength(JSON.stringify(request))));
  });

  it('allows an ordinary batch with a shared context: 100 events of 300 bytes sharing 2.4 KB', () => {
    const request = {
      context: { app: { name: 'x'.repeat(2400) } },
      batch: Array.from({ length: 100 }, (_, i) => track({ userId: `u${i}`, properties: { p: 'y'.repeat(240) } })),
    };
    const { accepted, queuedBytes } = parseEvents('batch', request, options);
    expect(accepted).toHaveLength(100);
    expect(queuedBytes).toBeGreaterThan(LIMITS.queuedBytesPerRequestByte * Buffer.byteLength(JSON.stringify(request))); // over 8x its size...
    expect(queuedBytes).toBeLessThanOrEqual(queuedBytesAllowed(Buffer.byteLength(JSON.stringify(request)))); // ...within the floor
  });
});
