import { brotliCompressSync, constants } from 'node:zlib';

// Brotli at its highest quality: slow per byte, so a batch of texts is worth sending to another process.
// Pure (no module state), taking and returning values that cross the wire, so it can be lifted as it is.
/** @lift */
export function compressAll(texts: string[]): Buffer[] {
  return texts.map((text) =>
    brotliCompressSync(Buffer.from(text, 'utf8'), {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(text, 'utf8'),
      },
    }),
  );
}
