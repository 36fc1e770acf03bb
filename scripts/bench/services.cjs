// The two services the benchmark compares, each run as its own process:
//   node services.cjs lifted <port> <fn>  the lifted function, served by @turbolift/runtime (a worker pool,
//                                         or inline with TURBOLIFT_WORKERS=0)
//   node services.cjs handwritten <port>  the same functions behind a hand-written fastify route
const { add, byteSum } = require('./functions.cjs');

const [kind, port] = process.argv.slice(2);

async function handwritten() {
  const fastify = require('fastify')({ logger: false, bodyLimit: 8 * 1024 * 1024 });
  fastify.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  fastify.get('/readyz', async () => ({ ok: true }));
  fastify.post('/add', async (request) => add(...request.body));
  fastify.post('/byte-sum', async (request) => byteSum(request.body));
  await fastify.listen({ host: '127.0.0.1', port: Number(port) });
}

async function lifted() {
  const { serve } = require('@turbolift/runtime');
  const fn = process.argv[4] === 'byteSum' ? byteSum : add;
  // BENCH_PARAMETERS=1: the parameter schemas the lift derives for add(a: number, b: number) (bench-wire).
  const parameters =
    process.env.BENCH_PARAMETERS === '1'
      ? [
          { name: 'a', schema: { type: 'number' } },
          { name: 'b', schema: { type: 'number' } },
        ]
      : undefined;
  await serve(fn, { name: fn.name, host: '127.0.0.1', port: Number(port), parameters });
}

(kind === 'lifted' ? lifted() : handwritten()).catch((error) => {
  console.error(error);
  process.exit(1);
});
