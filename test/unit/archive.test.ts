/** Archived events are sealed per person; compressed before sealing, and records sealed before that still read. */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ArchivedEvent, newArchiveKey, seal, unseal } from '#shared/domain/archive';
import { anEvent } from '../helpers/events';

const event = anEvent({
  userId: 'ada',
  messageId: 'm-1',
  properties: {
    product_id: 'P-shoes-120',
    name: 'shoes model 12',
    brand: 'Maison Exemple',
    price: 120,
    url: 'https://shop.example.com/p/shoes/120',
  },
  context: {
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    page: { url: 'https://shop.example.com/p/shoes', title: 'shoes model 12' },
  },
});

/** A record as sealed before compression: the JSON encrypted as it is. */
function sealedUncompressed(key: string, profileId: string): ArchivedEvent {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), iv);
  cipher.setAAD(Buffer.from(profileId));
  const body = Buffer.concat([cipher.update(JSON.stringify(event)), cipher.final()]);
  return {
    profileId,
    messageId: event.messageId,
    receivedAt: event.receivedAt,
    sealed: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
  };
}

describe('archive records', () => {
  it('seal compressed, unseal whole, in about half the bytes of the event sealed as it is', () => {
    const key = newArchiveKey();
    const record = seal(event, 'p_1', key);
    expect(record.compressed).toBe('br');
    expect(unseal(record, key)).toEqual(event);
    expect(record.sealed.length).toBeLessThan(sealedUncompressed(key, 'p_1').sealed.length * 0.75);
  });

  it('still read records sealed before compression, and no record without its key or for another person', () => {
    const key = newArchiveKey();
    expect(unseal(sealedUncompressed(key, 'p_1'), key)).toEqual(event);
    expect(unseal(seal(event, 'p_1', key), newArchiveKey())).toBeUndefined();
    expect(unseal({ ...seal(event, 'p_1', key), profileId: 'p_2' }, key)).toBeUndefined();
    expect(unseal(seal(event, 'p_1', key), undefined)).toBeUndefined();
  });
});
