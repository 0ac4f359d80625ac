import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DetailType } from '../../shared/adapters/eventbridge/event-publisher';
import { eventContracts, jsonSchemaOf, schemaFileName } from '../../shared/contracts/events';
import { segmentJsonSchema } from '../../shared/domain/segments';

describe('EventBridge contracts', () => {
  it.each(Object.keys(eventContracts) as DetailType[])('schemas/events has the current JSON Schema of "%s" (run npm run schemas)', (detailType) => {
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, '../../schemas/events', schemaFileName(detailType)), 'utf8'));
    expect(committed).toEqual(jsonSchemaOf(detailType));
  });

  it('schemas/segment.v1.json is the current segment definition schema (run npm run schemas)', () => {
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, '../../schemas/segment.v1.json'), 'utf8'));
    expect(committed).toEqual(segmentJsonSchema());
    expect(JSON.stringify(committed)).toContain('performed_date');
  });

  it('rejects a detail that breaks the contract', () => {
    const contract = eventContracts['Segment Membership Changed'];
    expect(contract.safeParse({ version: 1, id: 'x', segmentId: 's', segmentRevision: 2, profileId: 'p', change: 'entered', at: '2026-03-15T10:00:00.000Z', reason: 'events' }).success).toBe(true);
    expect(contract.safeParse({ version: 1, id: 'x', segmentId: 's', segmentRevision: 2, profileId: 'p', change: 'joined', at: '2026-03-15T10:00:00.000Z', reason: 'events' }).success).toBe(false);
  });
});
