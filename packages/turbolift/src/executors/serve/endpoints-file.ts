export { registerEndpoint, unregisterEndpoint } from '@turbolift/runtime';
export { endpointsFilePath } from '../../service/paths';
