/**
 * DynamoDB's item size, as AWS documents it: attribute names and strings by
 * UTF-8 length, binary by its bytes, numbers by about one byte per two significant digits plus one,
 * lists and maps 3 bytes plus 1 per element. Every write is billed on it, and
 * an item may not exceed 400 KB. Pure.
 */
export const MAX_ITEM_BYTES = 400 * 1024;

export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) if (value !== undefined) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') {
    const digits = String(Math.abs(value)).replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').length || 1;
    return Math.min(21, Math.ceil(digits / 2) + 1);
  }
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + valueSize(v), 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (sum, [k, v]) => (v === undefined ? sum : sum + 1 + Buffer.byteLength(k) + valueSize(v)),
        0,
      )
    );
  }
  return 0;
}
