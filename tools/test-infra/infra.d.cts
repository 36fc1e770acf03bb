export interface TestInfra {
  /** e.g. unix:///var/run/docker.sock */
  dockerHost: string;
  /** host:port of the loopback image registry, e.g. 127.0.0.1:5000 */
  registry: string;
  /** local Node base image, e.g. turbolift-test/node:20 */
  baseImage: string;
  /** the same image in the registry, e.g. 127.0.0.1:5000/turbolift-test/node:20 */
  remoteBaseImage: string;
  stateDir: string;
}
export function ensureTestInfra(): TestInfra;
export function stopTestInfra(): void;
export function globalSetup(): () => void;
export default globalSetup;
