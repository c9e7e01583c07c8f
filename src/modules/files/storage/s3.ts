import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { ObjectMissing, type ObjectInfo, type ObjectStorage, type PostPolicy, type PresignedPost, type SignedGet } from './port.js';

export interface S3Settings {
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  sse: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
}

const isMissing = (error: unknown) => {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NotFound' || name === 'NoSuchKey' || $metadata?.httpStatusCode === 404;
};

/**
 * The S3-compatible adapter (AWS S3, MinIO, R2, B2...). Server-side encryption is requested
 * on every write, the presigned POST's policy included; presigned GETs fix the response's
 * type and disposition.
 */
export class S3Storage implements ObjectStorage {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.credentials,
      maxAttempts: 2,
      // Checksums only where S3 requires them: several S3-compatible stores reject the newer defaults.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private get encryption(): { ServerSideEncryption: ServerSideEncryption; SSEKMSKeyId?: string } {
    return { ServerSideEncryption: this.settings.sse, ...(this.settings.kmsKeyId && { SSEKMSKeyId: this.settings.kmsKeyId }) };
  }

  async put(key: string, body: Readable, options: { contentType: string }): Promise<void> {
    // A multipart upload in 8 MiB parts: a stream of unknown length, with flat memory.
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.settings.bucket, Key: key, Body: body, ContentType: options.contentType, ...this.encryption },
      queueSize: 1,
      partSize: 8 * 1024 * 1024,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async get(key: string): Promise<Readable> {
    try {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }));
      return Body as Readable;
    } catch (error) {
      throw isMissing(error) ? new ObjectMissing(key) : error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }));
      return { size: head.ContentLength ?? 0, contentType: head.ContentType };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async readStart(key: string, length: number): Promise<Buffer> {
    try {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key, Range: `bytes=0-${length - 1}` }));
      const bytes = await (Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      return Buffer.from(bytes).subarray(0, length);
    } catch (error) {
      throw isMissing(error) ? new ObjectMissing(key) : error;
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.settings.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
  }

  async *list(prefix: string): AsyncIterable<{ key: string; lastModified: Date }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) yield { key: object.Key, lastModified: object.LastModified ?? new Date(0) };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async presignPost(key: string, policy: PostPolicy): Promise<PresignedPost> {
    const sse = this.encryption;
    const fields: Record<string, string> = {
      'Content-Type': policy.contentType,
      'x-amz-server-side-encryption': sse.ServerSideEncryption,
      ...(sse.SSEKMSKeyId && { 'x-amz-server-side-encryption-aws-kms-key-id': sse.SSEKMSKeyId }),
    };
    return createPresignedPost(this.client, {
      Bucket: this.settings.bucket,
      Key: key,
      Fields: fields,
      // The policy fixes the key (Key above), the type, the encryption and the size range.
      Conditions: [
        ['content-length-range', 1, policy.maxBytes],
        ['eq', '$Content-Type', policy.contentType],
        ['eq', '$x-amz-server-side-encryption', sse.ServerSideEncryption],
      ],
      Expires: policy.expiresS,
    });
  }

  async signedGetUrl(key: string, options: SignedGet): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.settings.bucket,
      Key: key,
      ResponseContentType: options.contentType,
      ResponseContentDisposition: options.disposition,
      ResponseCacheControl: 'private, no-store',
    });
    return getSignedUrl(this.client, command, { expiresIn: options.expiresS });
  }

  async ping(timeoutMs: number): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.settings.bucket }), { abortSignal: AbortSignal.timeout(timeoutMs) });
  }

  destroy(): void {
    this.client.destroy();
  }
}
