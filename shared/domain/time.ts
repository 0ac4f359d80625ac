/** Time units and UTC day indexes. Pure. */
export const DAY_MS = 86_400_000;
export const dayIndex = (ms: number): number => Math.floor(ms / DAY_MS);
