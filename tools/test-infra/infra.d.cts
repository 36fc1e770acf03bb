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
  /** The second loopback registry, which refuses pulls and pushes without its password (htpasswd, bcrypt). */
  authRegistry: {
    /** host:port, e.g. 127.0.0.1:5001 */
    registry: string;
    username: string;
    /** random, made by up.sh once per state folder */
    password: string;
    passwordFile: string;
    /** a folder to use as DOCKER_CONFIG: its config.json has `auths` for this registry only */
    dockerConfig: string;
  };
  /** The local npm registry (verdaccio): turbolift and @turbolift/* from its own storage, the rest through its uplink. */
  npmRegistry: {
    /** e.g. http://127.0.0.1:4873/ */
    url: string;
    /** a file holding the token of the test user, who may publish */
    tokenFile: string;
  };
}
export function ensureTestInfra(): TestInfra;
export function stopTestInfra(): void;
export function globalSetup(): () => void;
export default globalSetup;
