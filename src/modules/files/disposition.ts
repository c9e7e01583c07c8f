/** Characters that end or split a header parameter, or a path: never in the ASCII filename. */
const UNSAFE = /[\r\n";\\/]/g;
const MAX_NAME = 200;

/** The printable-ASCII filename: `\r \n " ; \ /` and anything outside 0x20-0x7e replaced, at most 200 characters. */
export function asciiFilename(name: string): string {
  const cleaned = name.replace(UNSAFE, '_').replace(/[^\x20-\x7e]/g, '_').trim().slice(0, MAX_NAME);
  return cleaned === '' || /^\.+$/.test(cleaned) ? 'file' : cleaned;
}

/** RFC 5987 encoding of the UTF-8 name, control characters removed, at most 200 characters. */
function extendedFilename(name: string): string {
  // eslint-disable-next-line no-control-regex
  const visible = [...name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '').replace(/[/\\]/g, '_')].slice(0, MAX_NAME).join('');
  return encodeURIComponent(visible === '' ? 'file' : visible).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `Content-Disposition` per RFC 6266: `attachment` unless the caller vouches for an inline
 * type, a quoted ASCII `filename` and a `filename*` with the UTF-8 name. Nothing from the
 * name can end the header or add a parameter.
 */
export function contentDisposition(name: string, inline: boolean): string {
  return `${inline ? 'inline' : 'attachment'}; filename="${asciiFilename(name)}"; filename*=UTF-8''${extendedFilename(name)}`;
}
