import { TurboliftError, type TurboliftErrorCode } from '../errors';

export { oneLine } from '../errors';

/** The image build's failures: the Docker engine's, the registry's and the build's own. */
export type ImageErrorCode = Extract<
  TurboliftErrorCode,
  | 'TL_DOCKER_NO_ENGINE'
  | 'TL_DOCKER_BUILD_FAILED'
  | 'TL_DOCKER_PUSH_FAILED'
  | 'TL_DOCKER_ENGINE_FAILED'
  | 'TL_REGISTRY_UNREACHABLE'
  | 'TL_REGISTRY_REFUSED'
  | 'TL_BUNDLE_MISSING'
  | 'TL_DOCKERFILE_MISSING'
  | 'TL_BAD_OPTIONS'
>;

export class ImageError extends TurboliftError<ImageErrorCode> {
  override name = 'ImageError';
}
