import { fileTypeFromBuffer } from 'file-type';

/** Bytes read for a magic-byte check. */
export const SNIFF_BYTES = 4100;

/** Avatars and logos: raster images only. SVG is never an image here (it is a document that runs script). */
export const IMAGE_TYPES: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };

/** Counseling attachments: worksheets, letters, pictures, recordings, and plain text. */
const ATTACHMENT_TYPES: Record<string, string> = {
  ...IMAGE_TYPES,
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.oasis.opendocument.text': 'odt',
  'audio/mpeg': 'mp3',
  'audio/x-m4a': 'm4a',
  'audio/mp4': 'm4a',
  'audio/wav': 'wav',
  'audio/ogg': 'ogg',
  'audio/webm': 'webm',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/quicktime': 'mov',
  'text/plain': 'txt',
};

/** What the bytes are, by their magic numbers; text without them is text/plain (never HTML, never script). */
export async function sniff(head: Buffer): Promise<string | undefined> {
  const detected = await fileTypeFromBuffer(head);
  if (detected) return detected.mime;
  return looksLikeText(head) ? 'text/plain' : undefined;
}

function looksLikeText(head: Buffer): boolean {
  if (head.length === 0 || head.includes(0)) return false;
  // A multi-byte character may be cut at the end of the sample: ignore the last 3 bytes.
  const sample = head.length >= SNIFF_BYTES ? head.subarray(0, head.length - 3) : head;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample);
    return true;
  } catch {
    return false;
  }
}

export const attachmentExtension = (type: string): string | undefined => ATTACHMENT_TYPES[type];
export const imageExtension = (type: string): string | undefined => IMAGE_TYPES[type];

/** Shown in the browser only when validated as a raster image or a video; everything else is downloaded. */
export const inlineAllowed = (type: string): boolean => type in IMAGE_TYPES || type.startsWith('video/');
