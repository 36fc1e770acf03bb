import Docker from 'dockerode';
import { Readable } from 'node:stream';
import type { RegistryAuth } from './docker-config';
import { ImageError, oneLine, type ImageErrorCode } from './errors';
import { formatProgressEvent, summarizeBuild, summarizePush, type ProgressEvent } from './progress';

/** Label the plugin puts on every image it builds; pruning only ever touches images carrying it. */
export const SERVICE_LABEL = 'dev.turbolift.service';
export const CONTENT_HASH_LABEL = 'dev.turbolift.content-hash';

export interface ImageInfo {
  id: string;
  size: number;
  created: number;
  repoTags: string[];
  labels: Record<string, string>;
}

export interface BuildRequest {
  context: Buffer;
  /** Full references, `repository:tag`. */
  tags: string[];
  labels: Record<string, string>;
  /** Where the Dockerfile came from, named in errors (e.g. `Dockerfile apps/x/Dockerfile`). */
  dockerfileSource?: string;
  onLine?: (line: string) => void;
}

/**
 * What the image build (`build.ts`) and the record check (`record-check.ts`) ask of an engine, and nothing
 * more: `DockerEngine` is the real one; a test may stand in its own to run the build's rules without Docker.
 */
export interface ImageEngine {
  /** Fails with `TL_DOCKER_NO_ENGINE` when no engine answers. */
  ping(): Promise<void>;
  /** Builds from a context tar; returns the image id. */
  build(request: BuildRequest): Promise<string>;
  /** null when the engine has no such image. */
  inspectImage(reference: string): Promise<ImageInfo | null>;
  /** Pushes `repository:tag`; returns the registry digest. A failure is `TL_DOCKER_PUSH_FAILED` with the registry's words as `detail`. */
  push(repository: string, tag: string, auth: RegistryAuth | undefined): Promise<string | null>;
  /** Images the plugin built for one service (label `SERVICE_LABEL`), newest first. */
  listServiceImages(service: string): Promise<ImageInfo[]>;
  /** Removes an image; one already gone is not an error. */
  removeImage(reference: string): Promise<void>;
}

/** Where an engine is expected, for messages. */
export function describeDockerHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

function errorCode(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code;
}

/** The engine's own message from a failed HTTP call (dockerode puts the JSON body in `json`). */
function engineMessage(error: unknown): string {
  const e = error as { json?: { message?: string } | string; reason?: string; message?: string };
  if (e?.json && typeof e.json === 'object' && e.json.message) return e.json.message;
  if (typeof e?.json === 'string' && e.json.trim()) return e.json.trim();
  // docker-modem prefixes the engine's text with its own words: "(HTTP code 400) unexpected - ".
  return (e?.message ?? String(error)).replace(/^\(HTTP code \d+\)[^-]*- /, '');
}

const CONNECTION_ERRORS = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

/** A thin adapter over dockerode: every method is one engine call (or one stream) plus error translation. */
export class DockerEngine implements ImageEngine {
  private constructor(
    private readonly docker: Docker,
    readonly host: string,
  ) {}

  /** Connects the way the docker CLI does: DOCKER_HOST, else the default socket. */
  static connect(env: NodeJS.ProcessEnv = process.env): DockerEngine {
    const host = describeDockerHost(env);
    let docker: Docker;
    try {
      docker = new Docker();
    } catch (error) {
      throw new ImageError('TL_DOCKER_NO_ENGINE', `cannot use DOCKER_HOST=${host}: ${oneLine((error as Error).message)}`);
    }
    return new DockerEngine(docker, host);
  }

  private translate(error: unknown, what: string, failure: ImageErrorCode = 'TL_DOCKER_ENGINE_FAILED'): ImageError {
    if (error instanceof ImageError) return error;
    const code = errorCode(error);
    if (code && CONNECTION_ERRORS.has(code)) {
      return new ImageError('TL_DOCKER_NO_ENGINE', `no Docker engine at ${this.host} (${code}): start dockerd or set DOCKER_HOST`);
    }
    return new ImageError(failure, `${what}: ${oneLine(engineMessage(error))}`);
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw this.translate(error, `Docker engine at ${this.host} does not answer`);
    }
  }

  /** Reads a progress stream to its end, printing readable lines as they come. */
  private follow(stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<ProgressEvent[]> {
    return new Promise((resolve, reject) => {
      const events: ProgressEvent[] = [];
      this.docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve(events)),
        (event: ProgressEvent) => {
          events.push(event);
          if (onLine) for (const line of formatProgressEvent(event)) onLine(line);
        },
      );
    });
  }

  /** Builds from a context tar; returns the image id. A failing step becomes one line naming it. */
  async build(request: BuildRequest): Promise<string> {
    const source = request.dockerfileSource ? ` (${request.dockerfileSource})` : '';
    let events: ProgressEvent[];
    try {
      const stream = await this.docker.buildImage(Readable.from([request.context]), {
        t: request.tags,
        labels: request.labels,
        dockerfile: 'Dockerfile',
        rm: true,
        forcerm: true,
        // `t` may repeat: the engine tags the image with every reference given.
      } as unknown as Docker.ImageBuildOptions);
      events = await this.follow(stream, request.onLine);
    } catch (error) {
      throw this.translate(error, `image build failed${source}`, 'TL_DOCKER_BUILD_FAILED');
    }
    const outcome = summarizeBuild(events);
    if (outcome.error) {
      const step = outcome.failedStep ? ` at ${outcome.failedStep}` : '';
      throw new ImageError('TL_DOCKER_BUILD_FAILED', `image build failed${source}${step}: ${oneLine(outcome.error)}`);
    }
    const id = outcome.imageId ?? (await this.inspectImage(request.tags[0]))?.id;
    if (!id) throw new ImageError('TL_DOCKER_BUILD_FAILED', `image build of ${request.tags[0]} ended without an image id`);
    return id;
  }

  /** Pushes `repository:tag`; returns the registry digest. */
  async push(repository: string, tag: string, auth: RegistryAuth | undefined, onLine?: (line: string) => void): Promise<string | null> {
    let events: ProgressEvent[];
    try {
      const stream = await this.docker.getImage(repository).push({ tag, ...(auth ? { authconfig: auth } : {}) });
      events = await this.follow(stream, onLine);
    } catch (error) {
      throw this.translate(error, `push of ${repository}:${tag} failed`, 'TL_DOCKER_PUSH_FAILED');
    }
    const outcome = summarizePush(events);
    if (outcome.error) {
      throw new ImageError('TL_DOCKER_PUSH_FAILED', `push of ${repository}:${tag} failed: ${oneLine(outcome.error)}`, oneLine(outcome.error));
    }
    return outcome.digest ?? null;
  }

  /** null when the engine has no such image. */
  async inspectImage(reference: string): Promise<ImageInfo | null> {
    try {
      const info = await this.docker.getImage(reference).inspect();
      return {
        id: info.Id,
        size: info.Size,
        created: Date.parse(info.Created),
        repoTags: info.RepoTags ?? [],
        labels: info.Config?.Labels ?? {},
      };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return null;
      throw this.translate(error, `cannot inspect image ${reference}`);
    }
  }

  /** Images the plugin built for one service, newest first. */
  async listServiceImages(service: string): Promise<ImageInfo[]> {
    let ids: string[];
    try {
      const images = await this.docker.listImages({ filters: { label: [`${SERVICE_LABEL}=${service}`] } });
      ids = images.map((image) => image.Id);
    } catch (error) {
      throw this.translate(error, `cannot list images of ${service}`);
    }
    // The list gives creation times in whole seconds; builds a moment apart need inspect's finer time.
    const infos = await Promise.all(ids.map((id) => this.inspectImage(id)));
    return infos.filter((info): info is ImageInfo => info !== null).sort((a, b) => b.created - a.created);
  }

  async removeImage(reference: string): Promise<void> {
    try {
      await this.docker.getImage(reference).remove({ force: true });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      throw this.translate(error, `cannot remove image ${reference}`);
    }
  }
}

/** Pure: which of a service's images to remove so that `keep` remain, never the one just built. */
export function imagesToPrune(images: readonly ImageInfo[], keep: number, protectedId: string): ImageInfo[] {
  const newestFirst = [...images].sort((a, b) => b.created - a.created);
  const kept = new Set<string>([protectedId]);
  for (const image of newestFirst) {
    if (kept.size >= Math.max(keep, 1)) break;
    kept.add(image.id);
  }
  return newestFirst.filter((image) => !kept.has(image.id));
}
