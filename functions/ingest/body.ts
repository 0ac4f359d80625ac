/**
 * Request bodies as the official libraries send them: plain, or compressed with gzip (Segment's
 * mobile libraries, RudderStack's Node SDK), deflate or br. The decompressed size is what counts
 * against the request limit, and inflating stops as soon as it is passed: a small gzip bomb costs
 * no more memory than an honest request.
 */
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync, type ZlibOptions } from 'node:zlib';
import { ApiError } from '#shared/errors';

type Decoder = (bytes: Buffer, options: ZlibOptions) => Buffer;

/** HTTP's "deflate" is zlib-wrapped (RFC 9110), but some clients send the raw stream: both are read. */
const inflateEither: Decoder = (bytes, options) => {
  try {
    return inflateSync(bytes, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw error;
    return inflateRawSync(bytes, options);
  }
};

const DECODERS = new Map<string, Decoder>([
  ['gzip', gunzipSync],
  ['x-gzip', gunzipSync],
  ['deflate', inflateEither],
  ['br', (bytes, options) => brotliDecompressSync(bytes, options)],
]);

export const SUPPORTED_ENCODINGS = [...DECODERS.keys()];

const tooLarge = (limit: number, compressed: boolean) =>
  new ApiError(413, 'request_too_large', `request body is larger than ${limit / 1024} KB${compressed ? ' once decompressed' : ''}`);

/** The body's bytes as the client meant them, at most `limit` of them. */
export function decodeBody(bytes: Buffer, contentEncoding: string | undefined, limit: number): Buffer {
  if (bytes.length > limit) throw tooLarge(limit, false);
  // Encodings are listed in the order they were applied, so they are undone from the last.
  const encodings = (contentEncoding ?? '')
    .toLowerCase()
    .split(',')
    .map((encoding) => encoding.trim())
    .filter((encoding) => encoding !== '' && encoding !== 'identity')
    .reverse();
  let decoded = bytes;
  for (const encoding of encodings) {
    const decoder = DECODERS.get(encoding);
    if (!decoder) {
      throw new ApiError(
        415,
        'unsupported_encoding',
        `Content-Encoding ${encoding} is not supported: send ${SUPPORTED_ENCODINGS.join(', ')} or an uncompressed body`,
        [{ path: '', message: `unsupported Content-Encoding ${encoding}` }],
      );
    }
    try {
      decoded = decoder(decoded, { maxOutputLength: limit });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit, true);
      throw new ApiError(400, 'malformed_body', `body is not valid ${encoding} data: ${(error as Error).message}`, [
        { path: '', message: `not valid ${encoding}` },
      ]);
    }
  }
  return decoded;
}
