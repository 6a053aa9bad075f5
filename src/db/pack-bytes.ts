/**
 * Byte strings as one binary parameter with their offsets and lengths. pg
 * sends a Buffer parameter as binary, but a Buffer[] as a text array of hex
 * literals: twice the bytes to write over the socket, and text for
 * PostgreSQL to parse back.
 */
export function packBytes(parts: readonly Buffer[]): {
  blob: Buffer;
  offsets: number[];
  lengths: number[];
} {
  const offsets: number[] = [];
  let offset = 0;
  for (const part of parts) {
    offsets.push(offset);
    offset += part.length;
  }
  return { blob: Buffer.concat(parts, offset), offsets, lengths: parts.map((part) => part.length) };
}
