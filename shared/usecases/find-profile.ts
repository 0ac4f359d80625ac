/**
 * Finding the person a caller means: by profile id (a merged-away id leads to the profile that
 * absorbed it) or by exactly one identifier (`?email=...`, `?crm_id=...`).
 */

import { IDENTIFIER_TYPES, type IdentityConfig, identifierKey, normaliseIdentifierType, normaliseLookup } from '../domain/identity';
import type { Profile } from '../domain/profile';
import { InvalidInputError, NotFoundError } from '../errors';
import type { IdentityStore } from '../ports/identities';
import type { ProfileStore } from '../ports/profiles';
import { followMerges } from './follow-merges';

export interface FindProfileDeps {
  profiles: Pick<ProfileStore, 'get'>;
  identities: Pick<IdentityStore, 'owners'>;
  identity?: IdentityConfig;
}

/** The live profile an id leads to, following merges. */
export async function profileById(profileId: string, deps: Pick<FindProfileDeps, 'profiles'>): Promise<Profile> {
  const { profile } = await followMerges(deps.profiles, profileId);
  if (!profile) throw new NotFoundError(`profile ${profileId}`);
  return profile;
}

/** The profile owning the one identifier given among `query`'s parameters. */
export async function profileByIdentifier(query: Readonly<Record<string, string>>, deps: FindProfileDeps): Promise<Profile> {
  // A built-in identifier type, or a custom one from context.externalIds (`?crm_id=123`).
  const given = Object.keys(query).filter(
    (key) => query[key] && ((IDENTIFIER_TYPES as readonly string[]).includes(key) || normaliseIdentifierType(key) === key),
  );
  if (given.length !== 1) {
    throw new InvalidInputError(`give exactly one identifier: ${IDENTIFIER_TYPES.join(', ')} or a custom id type`, [
      { path: 'query', message: 'one identifier required' },
    ]);
  }
  const type = given[0]!;
  const value = normaliseLookup(type, query[type]!, deps.identity);
  if (!value) throw new InvalidInputError(`not a valid ${type}`, [{ path: type, message: 'invalid' }]);
  const owner = (await deps.identities.owners([identifierKey({ type, value })])).values().next().value;
  const profile = owner ? (await followMerges(deps.profiles, owner)).profile : undefined;
  if (!profile) throw new NotFoundError(`profile with ${type} ${value}`);
  return profile;
}
