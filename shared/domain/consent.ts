/**
 * Consent per channel: who may be contacted by email, SMS or push, as the person last said, from
 * which source and when. Read from events, latest statement wins (so late or replayed events cannot
 * overturn a newer choice), combined by the same rule on merges. Audiences export only people who
 * consented on their channel and can be reached on it. Pure.
 */
import type { EnrichedEvent } from './events';
import { CONSENT_CHANNELS, type ConsentChannel, type Consents, type Profile } from './profile';

/** The event Prisme reads consent from, besides an identify's `consent` trait. */
export const CONSENT_EVENT = 'Consent Updated';

const statusOf = (value: unknown): 0 | 1 | undefined => {
  if (value === true || value === 'granted' || value === 'opted_in' || value === 'subscribed' || value === 'yes') return 1;
  if (value === false || value === 'denied' || value === 'opted_out' || value === 'unsubscribed' || value === 'no' || value === 'revoked')
    return 0;
  return undefined;
};

/**
 * What an event says about consent: an identify's `traits.consent` (`{ "email": true, "sms": "denied" }`),
 * or a `Consent Updated` track event (`{ "channel": "email", "status": "granted" }`).
 */
export function consentStatements(event: EnrichedEvent): Array<{ channel: ConsentChannel; granted: 0 | 1 }> {
  const statements: Array<{ channel: ConsentChannel; granted: 0 | 1 }> = [];
  const consent = event.traits.consent;
  if (typeof consent === 'object' && consent !== null) {
    for (const channel of CONSENT_CHANNELS) {
      const granted = statusOf((consent as Record<string, unknown>)[channel]);
      if (granted !== undefined) statements.push({ channel, granted });
    }
  }
  if (event.type === 'track' && event.event === CONSENT_EVENT) {
    const channel = event.properties.channel;
    const granted = statusOf(event.properties.status ?? event.properties.granted);
    if ((CONSENT_CHANNELS as readonly unknown[]).includes(channel) && granted !== undefined)
      statements.push({ channel: channel as ConsentChannel, granted });
  }
  return statements;
}

/** Records a statement unless a newer one is already known. */
export function recordConsent(consents: Consents, channel: ConsentChannel, granted: 0 | 1, at: number, source: string): void {
  const known = consents[channel];
  if (known && known[1] > at) return;
  consents[channel] = [granted, at, source];
}

export function foldConsent(profile: Profile, event: EnrichedEvent): void {
  const statements = consentStatements(event);
  if (statements.length === 0) return;
  const consents = (profile.consents ??= {});
  for (const { channel, granted } of statements) recordConsent(consents, channel, granted, Date.parse(event.timestamp), event.sourceId);
}

export function mergeConsents(into: Profile, from: Pick<Profile, 'consents'>): void {
  for (const [channel, [granted, at, source]] of Object.entries(from.consents ?? {}) as Array<[ConsentChannel, [0 | 1, number, string]]>) {
    recordConsent((into.consents ??= {}), channel, granted, at, source);
  }
}

/** The address a channel reaches the person at, if the profile has one. */
export function addressFor(profile: Profile, channel: ConsentChannel): string | undefined {
  switch (channel) {
    case 'email':
      return profile.identifiers.email?.at(-1);
    case 'sms':
      return profile.identifiers.phone?.at(-1);
    case 'push':
      return profile.pushToken;
  }
}

/** May this person be contacted on this channel: a granted consent, and an address for it. */
export const reachable = (profile: Profile, channel: ConsentChannel): boolean =>
  profile.consents?.[channel]?.[0] === 1 && addressFor(profile, channel) !== undefined;

/** Consents for people to read. */
export const consentView = (consents: Consents | undefined) =>
  Object.fromEntries(
    Object.entries(consents ?? {}).map(([channel, [granted, at, source]]) => [
      channel,
      { status: granted ? 'granted' : 'denied', at: new Date(at).toISOString(), source },
    ]),
  );
