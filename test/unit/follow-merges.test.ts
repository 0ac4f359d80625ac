import { describe, expect, it } from 'vitest';
import { newProfile, type Profile } from '#shared/domain/profile';
import { followMerges } from '#shared/usecases/follow-merges';

const at = '2026-03-01T00:00:00.000Z';
const storeOf = (profiles: Profile[]) => {
  const byId = new Map(profiles.map((p) => [p.profileId, p]));
  return { get: async (id: string) => byId.get(id) };
};
const redirect = (id: string, into: string): Profile => ({ ...newProfile(id, at), mergedInto: into });

describe('followMerges', () => {
  it('leads a merged-away id through each redirect to the profile that holds the data', async () => {
    const store = storeOf([redirect('p_a', 'p_b'), redirect('p_b', 'p_c'), newProfile('p_c', at)]);
    const survivor = await followMerges(store, 'p_a');
    expect(survivor.profileId).toBe('p_c');
    expect(survivor.profile?.mergedInto).toBeUndefined();
    expect((await followMerges(store, 'p_c')).profile?.profileId).toBe('p_c');
  });

  it('names the id it ended on with no profile when there is none, or when the redirects loop', async () => {
    expect(await followMerges(storeOf([redirect('p_a', 'p_gone')]), 'p_a')).toEqual({ profileId: 'p_gone' });
    expect(await followMerges(storeOf([]), 'p_x')).toEqual({ profileId: 'p_x' });
    const loop = await followMerges(storeOf([redirect('p_a', 'p_b'), redirect('p_b', 'p_a')]), 'p_a');
    expect(loop.profile).toBeUndefined();
  });
});
