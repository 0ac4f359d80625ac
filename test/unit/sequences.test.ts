import { describe, expect, it } from 'vitest';
import { MAX_OCCURRENCES } from '#shared/domain/aggregates';
import { explain } from '#shared/domain/explain';
import { foldEvents } from '#shared/domain/fold';
import { compileRules } from '#shared/domain/memberships';
import { newProfile, type Profile } from '#shared/domain/profile';
import { compile } from '#shared/domain/segment-compiler';
import { type Condition, conditionSchema } from '#shared/domain/segment-definition';
import { findSequence } from '#shared/domain/segment-events';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-03-20T12:00:00.000Z');

// Seed 000: "webinar attendees of 15 March who visited the pricing page within 24 h".
const webinarThenPricing: Condition = {
  type: 'sequence',
  steps: [
    { event: 'Webinar Attended', channel: 'event', where: [{ property: 'webinarDate', operator: 'eq', value: '2026-03-15' }] },
    { event: 'Page Viewed', channel: 'web', where: [{ property: 'name', operator: 'eq', value: 'Pricing' }] },
  ],
  within: { hours: 24 },
};

function profileAfter(events: Parameters<typeof anEvent>[0][]): Profile {
  const { specs } = compileRules([
    { id: 's', name: 's', condition: webinarThenPricing, revision: 1, languageVersion: 1, status: 'ready', createdAt: '', updatedAt: '' },
  ]);
  return foldEvents(
    newProfile('p1', '2026-03-01T00:00:00.000Z'),
    events.map((e) => anEvent(e)),
    [],
    now,
    specs,
  ).profile;
}

const webinar = (at: string, webinarDate = '2026-03-15') => ({
  event: 'Webinar Attended',
  channel: 'event' as const,
  properties: { webinarDate },
  at,
});
const pricing = (at: string, channel: 'web' | 'app' = 'web') => ({
  type: 'page' as const,
  event: undefined,
  channel,
  properties: { name: 'Pricing' },
  at,
});

describe('sequences', () => {
  const matches = compile(webinarThenPricing);

  it.each([
    ['pricing 3 h after the webinar', [webinar('2026-03-15T17:00:00Z'), pricing('2026-03-15T20:00:00Z')], true],
    ['pricing 30 h after: too late', [webinar('2026-03-15T17:00:00Z'), pricing('2026-03-16T23:00:00Z')], false],
    ['pricing before the webinar: wrong order', [pricing('2026-03-15T10:00:00Z'), webinar('2026-03-15T17:00:00Z')], false],
    ['another webinar', [webinar('2026-03-15T17:00:00Z', '2026-02-01'), pricing('2026-03-15T18:00:00Z')], false],
    ['pricing in the app, not on the web', [webinar('2026-03-15T17:00:00Z'), pricing('2026-03-15T18:00:00Z', 'app')], false],
    [
      'an early pricing visit does not hide a later one in time',
      [pricing('2026-03-14T10:00:00Z'), webinar('2026-03-15T17:00:00Z'), pricing('2026-03-16T09:00:00Z')],
      true,
    ],
  ] as const)('%s', (_description, events, expected) => {
    expect(matches(profileAfter([...events]), now, new Set())).toBe(expected);
  });

  it('arrive out of order and still match (instants, not arrival, decide)', () => {
    expect(matches(profileAfter([pricing('2026-03-15T20:00:00Z'), webinar('2026-03-15T17:00:00Z')]), now, new Set())).toBe(true);
  });

  it('explain the run it found', () => {
    const profile = profileAfter([webinar('2026-03-15T17:00:00Z'), pricing('2026-03-15T20:00:00Z')]);
    expect(explain(webinarThenPricing, profile, now, new Set())).toEqual({
      condition: 'Webinar Attended, then Page Viewed, each within 24 hours',
      held: true,
      seen: { occurrences: [1, 1], run: ['2026-03-15T17:00:00.000Z', '2026-03-15T20:00:00.000Z'] },
    });
  });

  it('find three-step runs greedily, honouring since', () => {
    // Newest first, epoch seconds.
    expect(
      findSequence(
        [
          [100, 10],
          [105, 50],
          [106, 60],
        ],
        10,
        -Infinity,
      ),
    ).toEqual([100, 105, 106]);
    expect(
      findSequence(
        [
          [100, 10],
          [105, 50],
          [106, 60],
        ],
        10,
        101,
      ),
    ).toBeUndefined();
    expect(findSequence([[10], [15], [40]], 10, -Infinity)).toBeUndefined();
  });

  it('keep a bounded number of occurrences per step', () => {
    const events = Array.from({ length: MAX_OCCURRENCES + 30 }, (_, i) =>
      webinar(new Date(Date.parse('2026-03-10T00:00:00Z') + i * 60_000).toISOString()),
    );
    const profile = profileAfter(events);
    const [times] = Object.entries(profile.aggregates)
      .filter(([key]) => key.includes('|*|'))
      .map(([, value]) => value);
    expect(times).toHaveLength(MAX_OCCURRENCES);
    expect(times![0]).toBe(Math.floor(Date.parse(events.at(-1)!.at) / 1000));
  });

  it('validate steps and the delay', () => {
    expect(conditionSchema.safeParse({ type: 'sequence', steps: [{ event: 'A' }], within: { hours: 1 } }).success).toBe(false);
    expect(conditionSchema.safeParse({ type: 'sequence', steps: [{ event: 'A' }, { event: 'B' }], within: {} }).success).toBe(false);
    expect(
      conditionSchema.safeParse({ type: 'sequence', steps: [{ event: 'A' }, { event: 'B' }], within: { days: 2 }, since: { daysAgo: 30 } })
        .success,
    ).toBe(true);
  });
});
