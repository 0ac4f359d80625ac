import { describe, expect, it } from 'vitest';
import {
  type BlockedIdentifier,
  DEFAULT_IDENTITY_CONFIG,
  identifiersOf,
  normaliseLookup,
  normalisePhone,
  previousIdentifiersOf,
} from '#shared/domain/identity';
import { anEvent } from '../helpers/events';

describe('identifiersOf', () => {
  it('finds every identifier, normalised, most trusted first', () => {
    const event = anEvent({
      type: 'identify',
      event: undefined,
      userId: ' u-42 ',
      anonymousId: 'device-1',
      traits: { email: ' Ada@Example.COM', phone: '06 12 34 56 78', loyaltyCard: 'LC-0099' },
      context: {
        externalIds: [
          { id: 'CRM-7', type: 'CRM ID', collection: 'users', encoding: 'none' },
          { id: 'x', type: 'userId' },
        ],
      },
    });
    expect(identifiersOf(event)).toEqual([
      { type: 'userId', value: 'u-42' },
      { type: 'email', value: 'ada@example.com' },
      { type: 'phone', value: '+33612345678' },
      { type: 'loyaltyCard', value: 'LC-0099' },
      { type: 'crm_id', value: 'CRM-7' },
      { type: 'anonymousId', value: 'device-1' },
    ]);
  });

  it('reads phones in the configured region, and refuses invalid ones', () => {
    expect(normalisePhone('020 7946 0018', 'GB')).toBe('+442079460018');
    expect(normalisePhone('+1 (415) 555-2671', 'FR')).toBe('+14155552671');
    expect(normalisePhone('12', 'FR')).toBeUndefined();
    expect(normaliseLookup('phone', '0612345678')).toBe('+33612345678');
  });

  it('never matches on blocked values, built-in or configured, and reports them', () => {
    const blocked: BlockedIdentifier[] = [];
    const config = { ...DEFAULT_IDENTITY_CONFIG, blockedPatterns: [/^noreply@/i] };
    const event = anEvent({
      userId: 'anonymous',
      anonymousId: '0',
      traits: { email: 'noreply@shop.example' },
      properties: { loyaltyCard: 'null' },
    });
    expect(identifiersOf(event, config, (b) => blocked.push(b))).toEqual([]);
    expect(blocked.map((b) => b.type)).toEqual(['userId', 'email', 'loyaltyCard', 'anonymousId']);
    expect(previousIdentifiersOf(anEvent({ type: 'alias', previousId: 'undefined' }))).toEqual([]);
  });
});
