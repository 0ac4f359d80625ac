import { describe, expect, it } from 'vitest';
import { consentStatements, reachable } from '#shared/domain/consent';
import { foldEvents } from '#shared/domain/fold';
import { mergeProfiles } from '#shared/domain/merge';
import { newProfile } from '#shared/domain/profile';
import { anEvent } from '../helpers/events';

const now = Date.parse('2026-06-15T12:00:00.000Z');
const identify = (consent: Record<string, unknown>, at: string) => anEvent({ type: 'identify', event: undefined, traits: { consent }, at });
const update = (channel: string, status: unknown, at: string) => anEvent({ event: 'Consent Updated', properties: { channel, status }, at });

describe('consent', () => {
  it('is read from an identify and from Consent Updated, in the words people use', () => {
    expect(consentStatements(identify({ email: true, sms: 'denied', push: 'maybe', fax: true }, '2026-06-01T00:00:00.000Z'))).toEqual([
      { channel: 'email', granted: 1 },
      { channel: 'sms', granted: 0 },
    ]);
    expect(consentStatements(update('push', 'opted_in', '2026-06-01T00:00:00.000Z'))).toEqual([{ channel: 'push', granted: 1 }]);
    expect(consentStatements(update('carrier-pigeon', 'granted', '2026-06-01T00:00:00.000Z'))).toEqual([]);
  });

  it('keeps the latest statement whatever the order of arrival, with its source and time', () => {
    const events = [identify({ email: true }, '2026-06-01T00:00:00.000Z'), update('email', 'revoked', '2026-06-10T00:00:00.000Z')];
    const inOrder = foldEvents(newProfile('p', events[0]!.timestamp), events, [], now).profile;
    const reversed = foldEvents(newProfile('p', events[0]!.timestamp), [...events].reverse(), [], now).profile;
    expect(inOrder.consents).toEqual({ email: [0, Date.parse('2026-06-10T00:00:00.000Z'), 'test'] });
    expect(reversed.consents).toEqual(inOrder.consents);
  });

  it('needs a granted consent and an address to reach someone, and survives a merge', () => {
    const withEmail = foldEvents(
      newProfile('p1', '2026-06-01T00:00:00.000Z'),
      [identify({ email: true, push: true }, '2026-06-01T00:00:00.000Z')],
      [{ type: 'email', value: 'a@example.com' }],
      now,
    ).profile;
    expect(reachable(withEmail, 'email')).toBe(true);
    expect(reachable(withEmail, 'push')).toBe(false); // no device token
    expect(reachable(withEmail, 'sms')).toBe(false);
    const app = foldEvents(
      newProfile('p2', '2026-06-02T00:00:00.000Z'),
      [
        anEvent({ context: { device: { token: 'apns-123' } }, at: '2026-06-02T00:00:00.000Z' }),
        update('email', 'denied', '2025-01-01T00:00:00.000Z'),
      ],
      [],
      now,
    ).profile;
    const merged = mergeProfiles(withEmail, app, now);
    expect(merged.pushToken).toBe('apns-123');
    expect(reachable(merged, 'push')).toBe(true);
    expect(reachable(merged, 'email')).toBe(true); // the older denial does not overturn the newer consent
  });
});
