/** The config module: every variable a function needs is checked at load, and an error names the variable. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#shared/config';
import { freezeSettings } from '#shared/resources';
import { ConfigError, identityConfigFrom, readSettings } from '#shared/settings';

/** What the stack gives the freeze: its five tables and the bus. */
const freezeEnv = {
  CATALOG_TABLE: 'catalog',
  PROFILES_TABLE: 'profiles',
  MEMBERSHIPS_TABLE: 'memberships',
  FROZEN_TABLE: 'frozen',
  GROUPS_TABLE: 'groups',
  EVENT_BUS_NAME: 'bus',
};

describe('loadConfig', () => {
  it('names each missing resource variable of the function, and only those its entry binds', () => {
    expect(() => loadConfig('ingest', {})).toThrow(ConfigError);
    expect(() => loadConfig('ingest', {})).toThrow(
      'Invalid environment for the ingest function: CATALOG_TABLE: not set; EVENTS_QUEUE_URL: not set; DEAD_LETTER_QUEUE_URL: not set',
    );
    // An empty variable is a missing one: a deploy tool may export it empty.
    expect(() => loadConfig('freeze', { ...freezeEnv, EVENT_BUS_NAME: '' })).toThrow('EVENT_BUS_NAME: not set');
    // The freeze is not bound to the queue, so it neither needs nor sees its URL.
    const config = loadConfig('freeze', { ...freezeEnv, EVENTS_QUEUE_URL: 'https://sqs/queue' });
    expect(config.resources).toEqual(freezeEnv);
  });

  it('names a setting that is not a number, or out of its range, with the value found', () => {
    expect(() => loadConfig('freeze', { ...freezeEnv, FREEZE_SEGMENTS: 'lots' })).toThrow('FREEZE_SEGMENTS: must be a number, got "lots"');
    expect(() => loadConfig('freeze', { ...freezeEnv, FREEZE_SEGMENTS: '2.5' })).toThrow(
      'FREEZE_SEGMENTS: must be a whole number, got "2.5"',
    );
    expect(() => loadConfig('freeze', { ...freezeEnv, FREEZE_SEGMENTS: '0' })).toThrow('FREEZE_SEGMENTS: must be at least 1, got "0"');
    expect(loadConfig('freeze', { ...freezeEnv, FREEZE_SEGMENTS: '8' }).settings.FREEZE_SEGMENTS).toBe(8);
    expect(loadConfig('freeze', { ...freezeEnv, FREEZE_SEGMENTS: '' }).settings.FREEZE_SEGMENTS).toBe(freezeSettings.scanSegments);
  });

  it('reports every problem at once', () => {
    expect(() => loadConfig('freeze', { ...freezeEnv, PROFILES_TABLE: undefined, FREEZE_SEGMENTS: 'x' })).toThrow(
      'Invalid environment for the freeze function: FREEZE_SEGMENTS: must be a number, got "x"; PROFILES_TABLE: not set',
    );
  });

  it('reads flags and optional text as the handlers did: empty is unset', () => {
    const settings = readSettings(['S3_FORCE_PATH_STYLE', 'ADMIN_TOKEN', 'PRISME_PUBLIC_URL'], {
      S3_FORCE_PATH_STYLE: 'TRUE',
      ADMIN_TOKEN: '',
    });
    expect(settings).toEqual({ S3_FORCE_PATH_STYLE: true, ADMIN_TOKEN: undefined, PRISME_PUBLIC_URL: undefined });
    expect(readSettings(['S3_FORCE_PATH_STYLE'], { S3_FORCE_PATH_STYLE: 'no' }).S3_FORCE_PATH_STYLE).toBe(false);
  });
});

describe('identity settings', () => {
  it('fills the defaults type by type and names a malformed rule or pattern', () => {
    const identity = identityConfigFrom({
      PRISME_IDENTITY_LIMITS: 'email:2',
      PRISME_LOYALTY_TRAITS: 'card, fidelity',
      PRISME_BLOCKED_IDENTIFIERS: '^test',
    });
    expect(identity.limits).toMatchObject({ userId: 1, email: 2 });
    expect(identity.loyaltyTraits).toEqual(['card', 'fidelity']);
    expect(identity.phoneRegion).toBe('FR');
    expect(identity.blockedPatterns.map(String)).toEqual(['/^test/i']);
    expect(() => identityConfigFrom({ PRISME_IDENTITY_LIMITS: 'email:lots' })).toThrow(
      'PRISME_IDENTITY_LIMITS: "email:lots" should read type:limit',
    );
    expect(() => identityConfigFrom({ PRISME_BLOCKED_IDENTIFIERS: '(' })).toThrow(
      /PRISME_BLOCKED_IDENTIFIERS: "\(" is not a regular expression/,
    );
  });

  it('keeps a type named like an Object.prototype property a limit like any other', () => {
    expect(identityConfigFrom({ PRISME_IDENTITY_LIMITS: '__proto__:2' }).limits).toHaveProperty(['__proto__'], 2);
  });
});
