/** Deleting a segment nothing depends on: no audience exports it and no segment refers to it. */

import { segmentReferences } from '../domain/segment-dependencies';
import { ConflictError, NotFoundError } from '../errors';
import type { DefinitionStore } from '../ports/catalog';

export async function deleteSegment(segmentId: string, deps: { catalog: Pick<DefinitionStore, 'segments' | 'audiences'> }): Promise<void> {
  const dependants = (await deps.catalog.audiences.list()).filter((a) => a.segmentId === segmentId);
  if (dependants.length > 0) throw new ConflictError(`segment is used by audience(s) ${dependants.map((a) => a.id).join(', ')}`);
  const referrers = (await deps.catalog.segments.list()).filter((s) => segmentReferences(s.condition).includes(segmentId));
  if (referrers.length > 0) throw new ConflictError(`segment is referred to by segment(s) ${referrers.map((s) => s.id).join(', ')}`);
  if (!(await deps.catalog.segments.delete(segmentId))) throw new NotFoundError(`segment ${segmentId}`);
}
