import { createHash } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { compressAll } from './compress';
import { chunk, makeSentences } from './sentences';

const COUNT = Number(process.env.TEXT_COUNT ?? 3000);
const CHUNK_SIZE = Number(process.env.CHUNK_SIZE ?? 250);

async function main(): Promise<void> {
  const texts = makeSentences(COUNT);
  const started = process.hrtime.bigint();
  // Chunks go out together: in process this runs one after another; once compressAll is lifted,
  // each chunk is one call to the service and they run concurrently.
  const compressed = (await Promise.all(chunk(texts, CHUNK_SIZE).map((batch) => compressAll(batch)))).flat();
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;

  const mismatches = texts.filter((text, i) => brotliDecompressSync(compressed[i]).toString('utf8') !== text).length;
  if (compressed.length !== texts.length || mismatches > 0) {
    throw new Error(`got ${compressed.length} outputs for ${texts.length} texts, ${mismatches} do not decompress to their input`);
  }
  const bytesIn = texts.reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8'), 0);
  const bytesOut = compressed.reduce((sum, buffer) => sum + buffer.length, 0);
  const sha256 = createHash('sha256').update(Buffer.concat(compressed)).digest('hex');

  console.log(`mode: ${process.env.TURBOLIFT_MODE ?? 'local'}`);
  console.log(`texts: ${texts.length} in ${Math.ceil(texts.length / CHUNK_SIZE)} chunks of ${CHUNK_SIZE}`);
  console.log(`bytes: ${bytesIn} in, ${bytesOut} out (${((100 * bytesOut) / bytesIn).toFixed(1)}%)`);
  console.log(`sha256 of outputs: ${sha256}`);
  console.log(`time: ${elapsedMs.toFixed(0)} ms`);
  // One machine-readable line without the time, equal in every mode.
  console.log(`RESULT ${JSON.stringify({ count: texts.length, bytesIn, bytesOut, sha256 })}`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
