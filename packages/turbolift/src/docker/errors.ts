/** Codes for the failures a user can act on; each message is one line that names what is wrong. */
export type ImageErrorCode =
  | 'TL_DOCKER_NO_ENGINE'
  | 'TL_DOCKER_BUILD_FAILED'
  | 'TL_DOCKER_PUSH_FAILED'
  | 'TL_REGISTRY_UNREACHABLE'
  | 'TL_REGISTRY_REFUSED'
  | 'TL_BUNDLE_MISSING'
  | 'TL_DOCKERFILE_MISSING'
  | 'TL_IMAGE_OPTIONS';

/** A user-facing failure: executors print `message` alone (no stack) and exit non-zero. */
export class ImageError extends Error {
  override readonly name = 'ImageError';
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    /** The engine's own words, when the message wraps them. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

export function isImageError(error: unknown): error is ImageError {
  return error instanceof ImageError;
}

/** Keeps an engine's multi-line message to one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
