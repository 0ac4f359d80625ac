/** Detail types Prisme publishes, each with a versioned JSON Schema in `schemas/events/`. */
export const DETAIL_TYPES = {
  membershipChanged: 'Segment Membership Changed',
  snapshotRequested: 'Audience Snapshot Requested',
  snapshotPublished: 'Audience Snapshot Published',
  snapshotHeld: 'Audience Snapshot Held',
  freezeRequested: 'Freeze Requested',
  profileMerged: 'Profile Merged',
  profileErased: 'Profile Erased',
  snapshotScrubRequested: 'Snapshot Scrub Requested',
} as const;
export type DetailType = (typeof DETAIL_TYPES)[keyof typeof DETAIL_TYPES];
