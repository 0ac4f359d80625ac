import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DetailType } from '#shared/contracts/detail-types';
import { eventContracts, jsonSchemaOf, membershipChangedDetail, schemaFileName, transitionsOf } from '#shared/contracts/events';
import { segmentJsonSchema } from '#shared/domain/segment-definition';

describe('EventBridge contracts', () => {
  it.each(Object.keys(eventContracts) as DetailType[])(
    'schemas/events has the current JSON Schema of "%s" (run npm run schemas)',
    (detailType) => {
      const committed = JSON.parse(readFileSync(join(import.meta.dirname, '../../schemas/events', schemaFileName(detailType)), 'utf8'));
      expect(committed).toEqual(jsonSchemaOf(detailType));
    },
  );

  it('schemas/segment.v1.json is the current segment definition schema (run npm run schemas)', () => {
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, '../../schemas/segment.v1.json'), 'utf8'));
    expect(committed).toEqual(segmentJsonSchema());
    expect(JSON.stringify(committed)).toContain('performed_date');
  });

  it('rejects a detail that breaks the contract', () => {
    const contract = eventContracts['Segment Membership Changed'];
    const detail = {
      version: 2,
      id: 'x',
      profileId: 'p',
      at: '2026-03-15T10:00:00.000Z',
      reason: 'events',
      entered: ['warm'],
      exited: ['cold'],
      revisions: { warm: 2, cold: 1 },
    };
    expect(contract.safeParse(detail).success).toBe(true);
    expect(contract.safeParse({ ...detail, version: 1 }).success).toBe(false);
    expect(contract.safeParse({ ...detail, entered: 'warm' }).success).toBe(false);
    expect(contract.safeParse({ ...detail, revisions: { warm: 0 } }).success).toBe(false);
  });

  it("publishes one event per change of a profile's memberships, and gives back its transitions", () => {
    const at = '2026-03-15T10:00:00.000Z';
    const transitions = [
      { id: 'a', segmentId: 'warm', segmentRevision: 2, profileId: 'p', change: 'entered' as const, at, reason: 'events' as const },
      { id: 'b', segmentId: 'cold', segmentRevision: 1, profileId: 'p', change: 'exited' as const, at, reason: 'events' as const },
    ];
    const detail = membershipChangedDetail(transitions);
    expect(eventContracts['Segment Membership Changed'].parse(detail)).toEqual(detail);
    expect(detail).toMatchObject({
      version: 2,
      profileId: 'p',
      at,
      reason: 'events',
      entered: ['warm'],
      exited: ['cold'],
      revisions: { warm: 2, cold: 1 },
    });
    expect(membershipChangedDetail([...transitions].reverse()).id).toBe(detail.id); // the same change, the same id
    expect(membershipChangedDetail(transitions.slice(0, 1)).id).not.toBe(detail.id);
    expect(transitionsOf(detail)).toEqual(transitions.map(({ id: _, ...t }) => t));
  });
});
