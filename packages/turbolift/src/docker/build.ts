import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readImageRecordIfAny, writeImageRecord, type ImageRecord } from '../service/image-record';
import { BUNDLE_MAIN } from '../service/paths';
import { contentTag, packBuildContext, readBundleFiles, type ContextFile } from './build-context';
import type { ResolvedAuth } from './docker-config';
import { renderDockerfile } from './dockerfile';
import { CONTENT_HASH_LABEL, SERVICE_LABEL, imagesToPrune, type ImageEngine } from './engine';
import { ImageError } from './errors';
import { staleReason } from './record-check';
import { dockerRegistry, type RegistryClient } from './registry';

export type Log = (line: string) => void;

/** Everything the build needs, resolved once: absolute paths, defaults applied, nothing optional left to guess. */
export interface NormalizedBuildImageOptions {
  service: string;
  projectRoot: string;
  workspaceRoot: string;
  bundleDir: string;
  recordFile: string;
  repository: string;
  /** Registry host[:port] the repository lives in, if any. */
  registry?: string;
  push: boolean;
  baseImage: string;
  extraTags: string[];
  keep: number;
  /** Source maps go into the image only when asked: they are often larger than the code. */
  sourceMaps: boolean;
  /** A user's Dockerfile (absolute path), or undefined to render one. */
  dockerfile?: string;
  labels: Record<string, string>;
  port: number;
}

/** Does the bundle's package.json list packages that must be installed in the image? */
export function bundleHasExternals(bundleDir: string): boolean {
  const file = join(bundleDir, 'package.json');
  if (!existsSync(file)) return false;
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {}).length > 0;
}

/** The image a Dockerfile ends up on: the last stage's FROM (for the record). */
export function finalBaseImage(dockerfile: string): string | undefined {
  const froms = [...dockerfile.matchAll(/^\s*FROM\s+(?:--\S+\s+)*(\S+)/gim)].map((match) => match[1]);
  return froms[froms.length - 1];
}

interface PreparedBuild {
  context: Buffer;
  tag: string;
  labels: Record<string, string>;
  baseImage: string;
}

async function prepareBuild(options: NormalizedBuildImageOptions): Promise<PreparedBuild> {
  const mainJs = join(options.bundleDir, BUNDLE_MAIN);
  if (!existsSync(mainJs)) {
    const shown = relative(options.workspaceRoot, mainJs) || mainJs;
    throw new ImageError('TL_BUNDLE_MISSING', `bundle ${shown} is missing: run "nx run ${options.service}:build" first`);
  }
  const dockerfile = options.dockerfile
    ? readFileSync(options.dockerfile, 'utf8')
    : renderDockerfile({ baseImage: options.baseImage, hasExternals: bundleHasExternals(options.bundleDir), port: options.port });
  const files: ContextFile[] = [
    { path: 'Dockerfile', content: Buffer.from(dockerfile) },
    ...readBundleFiles(options.bundleDir, { sourceMaps: options.sourceMaps }),
  ];
  const context = await packBuildContext(files);
  const labels = { ...options.labels, [SERVICE_LABEL]: options.service };
  return { context, tag: contentTag(context, labels), labels, baseImage: finalBaseImage(dockerfile) ?? options.baseImage };
}

function sameTags(record: ImageRecord, tags: string[]): boolean {
  return JSON.stringify(record.tags ?? [record.tag]) === JSON.stringify(tags);
}

async function pruneOldImages(engine: ImageEngine, options: NormalizedBuildImageOptions, builtId: string, log: Log): Promise<void> {
  const images = await engine.listServiceImages(options.service);
  for (const image of imagesToPrune(images, options.keep, builtId)) {
    log(`removing old image ${image.repoTags[0] ?? image.id} of ${options.service} (keeping ${options.keep})`);
    await engine.removeImage(image.id);
  }
}

/** Builds (or verifies) the image of one service and writes its record. */
export async function buildServiceImage(
  options: NormalizedBuildImageOptions,
  engine: ImageEngine,
  log: Log,
  registryClient: RegistryClient = dockerRegistry,
): Promise<ImageRecord> {
  await engine.ping();
  const prepared = await prepareBuild(options);
  const tags = [prepared.tag, ...options.extraTags.filter((tag) => tag !== prepared.tag)];
  const reference = `${options.repository}:${prepared.tag}`;

  let credentials: ResolvedAuth | undefined;
  if (options.push && options.registry) {
    await registryClient.assertReachable(options.registry);
    credentials = registryClient.credentials(options.registry);
    if (credentials.note) log(credentials.note);
  }
  const auth = credentials?.auth;

  const previous = readImageRecordIfAny(options.recordFile);
  if (previous && previous.image === options.repository && previous.tag === prepared.tag && sameTags(previous, tags) && previous.pushed === options.push) {
    const reason = await staleReason(previous, engine, auth, registryClient);
    if (!reason) {
      log(`image ${reference} is up to date (verified in the engine${previous.pushed ? ' and the registry' : ''})`);
      return previous;
    }
    log(reason);
  }

  log(`building ${reference}${options.dockerfile ? ` from ${relative(options.workspaceRoot, options.dockerfile)}` : ''}`);
  const imageId = await engine.build({
    context: prepared.context,
    tags: tags.map((tag) => `${options.repository}:${tag}`),
    labels: { ...prepared.labels, [CONTENT_HASH_LABEL]: prepared.tag },
    dockerfileSource: options.dockerfile ? `Dockerfile ${relative(options.workspaceRoot, options.dockerfile)}` : 'rendered Dockerfile',
    onLine: (line) => log(`  ${line}`),
  });
  const built = await engine.inspectImage(imageId);
  const base = await engine.inspectImage(prepared.baseImage);

  let digest: string | null = null;
  if (options.push) {
    for (const tag of tags) {
      log(`pushing ${options.repository}:${tag}`);
      const pushed = await pushOrExplain(engine, options, tag, credentials);
      if (tag === prepared.tag) digest = pushed;
    }
  }

  await pruneOldImages(engine, options, imageId, log);

  const record: ImageRecord = {
    service: options.service,
    image: options.repository,
    tag: prepared.tag,
    tags,
    digest,
    size: built?.size ?? 0,
    baseImage: prepared.baseImage,
    baseImageSize: base?.size ?? null,
    pushed: options.push,
  };
  writeImageRecord(options.recordFile, record);
  log(`built ${reference} (${imageId.slice(0, 19)}, ${formatMegabytes(record.size)}${digest ? `, ${digest}` : ''})`);
  return record;
}

/** Registries say "denied"/"unauthorized" in many ways; all of them mean the credentials did not do. */
const REFUSAL = /unauthori[sz]ed|denied|authentication required|no basic auth credentials|insufficient_scope|forbidden/i;

async function pushOrExplain(
  engine: ImageEngine,
  options: NormalizedBuildImageOptions,
  tag: string,
  credentials: ResolvedAuth | undefined,
): Promise<string | null> {
  try {
    return await engine.push(options.repository, tag, credentials?.auth);
  } catch (error) {
    if (error instanceof ImageError && error.code === 'TL_DOCKER_PUSH_FAILED' && error.detail && REFUSAL.test(error.detail)) {
      throw new ImageError(
        'TL_REGISTRY_REFUSED',
        `registry ${options.registry} refused the push of ${options.repository}:${tag}: ${error.detail} ` +
          `(credentials: ${credentials?.source ?? 'none'}; run docker login ${options.registry})`,
        error.detail,
      );
    }
    throw error;
  }
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
