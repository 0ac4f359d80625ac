import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ObjectStore } from '../../ports/objects';

const isMissing = (error: unknown) => error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey';

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, body: Buffer | string, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async putStream(key: string, body: Readable, contentType: string): Promise<void> {
    // 8 MB parts, two in flight: at most about 16 MB buffered per upload.
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
    });
    await upload.done();
  }

  async get(key: string): Promise<Buffer | undefined> {
    const stream = await this.getStream(key);
    if (!stream) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async list(prefix: string, startAfter: string | undefined, limit: number): Promise<{ keys: string[]; more: boolean }> {
    // ListObjects (v1) with a marker pages exactly like v2's StartAfter. s3rver signs v2's continuation
    // token with DES, which Node 17+ lacks, so every truncated v2 listing fails locally.
    const page = await this.client.send(
      new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, Marker: startAfter, MaxKeys: limit }),
    );
    return { keys: (page.Contents ?? []).map((o) => o.Key!), more: page.IsTruncated === true };
  }

  async listFolders(
    prefix: string,
    startAfter: string | undefined,
    limit: number,
  ): Promise<{ folders: string[]; more: boolean; next?: string }> {
    const page = await this.client.send(
      new ListObjectsCommand({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', Marker: startAfter, MaxKeys: limit }),
    );
    const folders = (page.CommonPrefixes ?? []).map((p) => p.Prefix!);
    const more = page.IsTruncated === true;
    return {
      folders,
      more,
      ...(more && { next: page.NextMarker ?? [...folders, ...(page.Contents ?? []).map((o) => o.Key!)].sort().at(-1) }),
    };
  }

  presignedGetUrl(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInSeconds });
  }

  async getStream(key: string): Promise<Readable | undefined> {
    try {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Body as Readable;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }
}
