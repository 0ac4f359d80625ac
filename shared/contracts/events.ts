/**
 * The EventBridge events Prisme publishes (source `prisme`): versioned
 * contracts. The JSON Schemas in `schemas/events/` are generated from these
 * (`npm run schemas`) and a test keeps the two identical.
 */
import { z } from 'zod';
import { changeId, type Transition } from '../domain/transitions';
import { DETAIL_TYPES, type DetailType } from './detail-types';

const isoTime = z.iso.datetime({ offset: true });
const counts = z.strictObject({ members: z.number().int().min(0), added: z.number().int().min(0), removed: z.number().int().min(0) });

export const eventContracts = {
  [DETAIL_TYPES.membershipChanged]: z
    .strictObject({
      version: z.literal(2),
      id: z.string().describe('Deterministic per change: drop repeats with the same id (delivery is at least once).'),
      profileId: z.string(),
      at: isoTime,
      reason: z
        .enum(['events', 'definition', 'time', 'merge'])
        .describe('New events for the profile, a saved segment definition, time passing, or a merge of two profiles.'),
      entered: z
        .array(z.string())
        .describe('Ids of the segments the profile entered. An EventBridge rule matches one of them: {"detail": {"entered": ["vip"]}}.'),
      exited: z.array(z.string()).describe('Ids of the segments the profile left, at the same moment.'),
      revisions: z
        .record(z.string(), z.number().int().min(1))
        .describe('Segment id -> the revision of its definition that decided the change.'),
    })
    .describe("One change of a profile's memberships: every segment it entered and left at once (a move from cold to warm is one event)."),
  [DETAIL_TYPES.snapshotRequested]: z
    .strictObject({ version: z.literal(1), audienceId: z.string(), runId: z.string() })
    .describe('An audience snapshot was asked for through the admin API; the snapshot function takes it.'),
  [DETAIL_TYPES.snapshotPublished]: z
    .strictObject({ version: z.literal(1), audienceId: z.string(), runId: z.string(), manifestKey: z.string(), counts })
    .describe('A snapshot run is complete in S3: its manifest and latest.json are written.'),
  [DETAIL_TYPES.snapshotHeld]: z
    .strictObject({
      version: z.literal(1),
      audienceId: z.string(),
      runId: z.string(),
      reason: z.string().describe('Why nothing was published: a draft, under the minimum size, or a size change beyond the limit.'),
      members: z.number().int().min(0),
      approvedSize: z.number().int().min(0).nullable(),
    })
    .describe('A snapshot was held, not published: someone has to review the audience.'),
  [DETAIL_TYPES.freezeRequested]: z
    .strictObject({
      version: z.literal(1),
      runId: z.string(),
      asOf: z.number().int().optional().describe('Epoch ms the indicators are computed as of, when not now.'),
      phase: z.enum(['measure', 'score']).optional().describe('Absent: start a run. Otherwise one worker of a pass.'),
      segment: z.number().int().min(0).optional().describe("The worker's parallel scan segment."),
      segments: z.number().int().min(1).optional(),
      cursor: z.string().optional().describe('Where a worker resumes in a fresh invocation.'),
      profiles: z.number().int().min(0).optional(),
      transitions: z.number().int().min(0).optional(),
      written: z.number().int().min(0).optional(),
    })
    .describe('The daily freeze was asked for (schedule or admin API), or one of its workers starts or continues.'),
  [DETAIL_TYPES.profileMerged]: z
    .strictObject({
      version: z.literal(1),
      survivorId: z.string().describe('The profile that remains; lookups by the merged id lead to it.'),
      mergedId: z.string(),
      at: isoTime,
    })
    .describe('Two profiles turned out to be one person: the merged one was folded into the survivor.'),
  [DETAIL_TYPES.profileErased]: z
    .strictObject({
      version: z.literal(1),
      erasureId: z.string(),
      profileId: z.string().describe('Gone: its identifiers, memberships and indicators were removed.'),
      at: isoTime,
    })
    .describe('A person exercised the right to erasure: downstream copies keyed by this profile id should go too.'),
  [DETAIL_TYPES.snapshotScrubRequested]: z
    .strictObject({
      version: z.literal(1),
      erasureId: z.string(),
      step: z.number().int().min(1).describe('The step to run; the cursor it starts from is on the erasure record.'),
    })
    .describe("An erasure's rewrite of earlier snapshot runs continues in a fresh invocation of the snapshot function."),
} satisfies Record<DetailType, z.ZodType>;

export type MembershipChangedDetail = z.infer<(typeof eventContracts)[typeof DETAIL_TYPES.membershipChanged]>;

/** The detail published for one change of a profile's memberships (its transitions share profile, time and reason). */
export function membershipChangedDetail(transitions: readonly Transition[], id = changeId(transitions)): MembershipChangedDetail {
  const { profileId, at, reason } = transitions[0]!;
  const of = (change: Transition['change']) => transitions.filter((t) => t.change === change).map((t) => t.segmentId);
  return {
    version: 2,
    id,
    profileId,
    at,
    reason,
    entered: of('entered'),
    exited: of('exited'),
    revisions: Object.fromEntries(transitions.map((t) => [t.segmentId, t.segmentRevision])),
  };
}

/** One line per segment of a published change, for consumers that handle segments one at a time. */
export function transitionsOf(detail: MembershipChangedDetail): Array<{
  segmentId: string;
  segmentRevision: number;
  profileId: string;
  change: 'entered' | 'exited';
  at: string;
  reason: MembershipChangedDetail['reason'];
}> {
  return (['entered', 'exited'] as const).flatMap((change) =>
    detail[change].map((segmentId) => ({
      segmentId,
      segmentRevision: detail.revisions[segmentId]!,
      profileId: detail.profileId,
      change,
      at: detail.at,
      reason: detail.reason,
    })),
  );
}

const versionOf = (detailType: DetailType): number => eventContracts[detailType].shape.version.value;

export const schemaFileName = (detailType: DetailType): string =>
  `${detailType.toLowerCase().replaceAll(' ', '-')}.v${versionOf(detailType)}.json`;

export function jsonSchemaOf(detailType: DetailType): Record<string, unknown> {
  return {
    $id: `urn:prisme:events:${schemaFileName(detailType).replace(/\.json$/, '')}`,
    title: `${detailType} (detail)`,
    'x-eventbridge': { source: 'prisme', 'detail-type': detailType },
    ...z.toJSONSchema(eventContracts[detailType]),
  };
}
