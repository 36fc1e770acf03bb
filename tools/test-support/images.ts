// Images built and pushed to the test registry (tools/test-infra), for the vitest cluster specs and the jest e2e suite.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

export interface PushedImage {
  image: string;
  tag: string;
  digest: string;
}

/**
 * Writes `files` and the Dockerfile into `dir`, builds the image and pushes it to `repository`. The tag is the hash
 * of what goes into it, so an unchanged image is the same tag (and digest) in every run.
 */
export function buildAndPushImage(repository: string, dir: string, dockerfile: string, files: Record<string, string>): PushedImage {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  const hash = createHash('sha256').update(dockerfile);
  for (const [name, text] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    writeFileSync(join(dir, name), text);
    hash.update(name).update(text);
  }
  const tag = hash.digest('hex').slice(0, 12);
  const build = run('docker', ['build', '-q', '-t', `${repository}:${tag}`, dir]);
  if (build.status !== 0) throw new Error(`docker build of ${repository} failed (is tools/test-infra/up.sh running?): ${build.stderr.trim()}`);
  const push = run('docker', ['push', `${repository}:${tag}`]);
  if (push.status !== 0) throw new Error(`docker push ${repository}:${tag} failed: ${push.stderr.trim()}`);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
  if (!digest) throw new Error(`no digest in docker push output: ${push.stdout}`);
  return { image: repository, tag, digest };
}
