/** Drops a multi-byte character cut in half by the cap, so the text stays within the cap once re-encoded. */
export function wholeUtf8Prefix(buf: Buffer): Buffer {
  for (let i = buf.length - 1; i >= Math.max(0, buf.length - 4); i--) {
    const b = buf[i]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return buf.length - i >= need ? buf : buf.subarray(0, i);
  }
  return buf;
}
