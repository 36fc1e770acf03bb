// What the benchmark scripts share: services as child processes, waited for on /readyz, and a main that
// always stops them, however it ends.

/** Resolves with `origin` once its /readyz answers 200; fails after 30 s. */
export async function waitReady(origin, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${origin}/readyz`)).ok) return origin;
    } catch {
      /* not listening yet */
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${origin} did not become ready within ${timeoutMs / 1000} s`);
}

/** Runs `main`; whatever happens, SIGTERMs every child it started and exits soon after. */
export function runBenchmark(main, children) {
  main()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(() => {
      for (const child of children) child.kill('SIGTERM');
      setTimeout(() => process.exit(), 500).unref();
    });
}
