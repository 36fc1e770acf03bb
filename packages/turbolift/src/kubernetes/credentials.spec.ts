import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { TurboliftError } from '../errors';
import { ApplyError } from './apply';
import {
  apiCredentialFailure,
  certificateFailure,
  credentialFailureOf,
  credentialOwnerOf,
  describeCredentialFailure,
  execPluginFailure,
  shellLine,
  type CredentialOwner,
  type ExecPluginRun,
} from './credentials';
import { loadClusterTarget, type ClusterTarget } from './kubeconfig';

const NOW = new Date('2026-06-01T12:00:00Z');

function kubeConfigWith(user: object, name = 'dev-user'): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
    users: [{ name, ...user }],
    contexts: [{ name: 'dev', cluster: 'c', user: name }],
    currentContext: 'dev',
  });
  return kubeConfig;
}

function target(kubeConfig: KubeConfig): ClusterTarget {
  return { kubeConfig, context: 'dev', namespace: 'default', server: 'https://127.0.0.1:6443' };
}

const AWS = { command: 'aws', args: ['eks', 'get-token', '--cluster-name', 'prod', '--profile', 'ops'], env: [], installHint: undefined };
const awsOwner: CredentialOwner = { context: 'prod', user: 'arn:aws:eks:eu-west-1:1:cluster/prod', source: { kind: 'exec', exec: AWS } };
const tokenOwner: CredentialOwner = { context: 'dev', user: 'dev-user', source: { kind: 'token' } };

function run(overrides: Partial<ExecPluginRun>): ExecPluginRun {
  return { exitCode: 0, signal: null, timedOut: false, stdout: '', stderr: '', ...overrides };
}

const credential = (status: object) => JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status });

describe('credentialOwnerOf', () => {
  it('names the context and the user entry, and takes the exec plugin as the kubeconfig gives it', () => {
    const kubeConfig = kubeConfigWith({
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        command: 'gke-gcloud-auth-plugin',
        args: null,
        env: [{ name: 'CLOUDSDK_CORE_PROJECT', value: 'p' }],
        installHint: 'Install gke-gcloud-auth-plugin for use with kubectl by following\nhttps://example.invalid',
      },
    });
    expect(credentialOwnerOf(kubeConfig, 'dev')).toEqual({
      context: 'dev',
      user: 'dev-user',
      source: {
        kind: 'exec',
        exec: {
          command: 'gke-gcloud-auth-plugin',
          args: [],
          env: [{ name: 'CLOUDSDK_CORE_PROJECT', value: 'p' }],
          installHint: 'Install gke-gcloud-auth-plugin for use with kubectl by following\nhttps://example.invalid',
        },
      },
    });
  });

  it('tells a token, a client certificate, an auth-provider and an empty entry apart', () => {
    expect(credentialOwnerOf(kubeConfigWith({ token: 't' }), 'dev').source).toEqual({ kind: 'token' });
    expect(credentialOwnerOf(kubeConfigWith({ certData: 'Y2VydA==', keyData: 'a2V5' }), 'dev').source).toEqual({ kind: 'client-certificate' });
    expect(credentialOwnerOf(kubeConfigWith({ authProvider: { name: 'oidc', config: {} } }), 'dev').source).toEqual({ kind: 'auth-provider', name: 'oidc' });
    expect(credentialOwnerOf(kubeConfigWith({}), 'dev').source).toEqual({ kind: 'none' });
    const inCluster = new KubeConfig();
    inCluster.loadFromClusterAndUser(
      { name: 'inCluster', server: 'https://10.96.0.1:443', skipTLSVerify: false },
      { name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' } } },
    );
    expect(credentialOwnerOf(inCluster, inCluster.getCurrentContext())).toEqual({
      context: 'loaded-context',
      user: 'inClusterUser',
      source: { kind: 'token-file', file: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    });
  });
});

describe('execPluginFailure', () => {
  it('accepts an ExecCredential with a token, or with a client certificate and key, that has not expired', () => {
    expect(execPluginFailure(run({ stdout: credential({ token: 'abc', expirationTimestamp: '2026-06-01T12:15:00Z' }) }), NOW, 60_000)).toBeUndefined();
    expect(execPluginFailure(run({ stdout: credential({ clientCertificateData: 'c', clientKeyData: 'k' }) }), NOW, 60_000)).toBeUndefined();
  });

  it('says whether the plugin was missing, not executable, failed, hung or printed something unusable', () => {
    expect(execPluginFailure(run({ spawnError: { code: 'ENOENT', message: 'spawn aws ENOENT' }, exitCode: -2 }), NOW, 60_000)).toEqual({
      kind: 'exec-not-found',
    });
    expect(execPluginFailure(run({ spawnError: { code: 'EACCES', message: 'spawn ./x EACCES' } }), NOW, 60_000)).toEqual({
      kind: 'exec-not-runnable',
      reason: 'permission denied',
    });
    expect(execPluginFailure(run({ exitCode: 255, stderr: '\nError loading SSO Token: Token for ops does not exist\nmore\n' }), NOW, 60_000)).toEqual({
      kind: 'exec-failed',
      exitCode: 255,
      signal: null,
      stderrLine: 'Error loading SSO Token: Token for ops does not exist',
    });
    expect(execPluginFailure(run({ timedOut: true, exitCode: null, signal: 'SIGKILL' }), NOW, 60_000)).toEqual({ kind: 'exec-timeout', seconds: 60 });
    expect(execPluginFailure(run({ stdout: '' }), NOW, 60_000)).toEqual({ kind: 'exec-bad-output', problem: 'it printed nothing' });
    expect(execPluginFailure(run({ stdout: 'token: abc' }), NOW, 60_000)).toEqual({ kind: 'exec-bad-output', problem: 'its output is not JSON' });
    expect(execPluginFailure(run({ stdout: '{"kind":"ExecCredential"}' }), NOW, 60_000)).toEqual({
      kind: 'exec-bad-output',
      problem: 'its output has no status',
    });
    expect(execPluginFailure(run({ stdout: credential({ token: '' }) }), NOW, 60_000)?.kind).toBe('exec-bad-output');
  });

  it('refuses a credential that has already expired', () => {
    expect(execPluginFailure(run({ stdout: credential({ token: 'abc', expirationTimestamp: '2026-06-01T11:00:00Z' }) }), NOW, 60_000)).toEqual({
      kind: 'exec-expired',
      expiredAt: '2026-06-01T11:00:00Z',
    });
  });
});

describe('certificateFailure', () => {
  it('is an expired certificate only once its notAfter has passed', () => {
    expect(certificateFailure(new Date('2026-06-02T00:00:00Z'), NOW)).toBeUndefined();
    expect(certificateFailure(new Date('2026-05-01T00:00:00Z'), NOW)).toEqual({ kind: 'certificate-expired', notAfter: '2026-05-01T00:00:00.000Z' });
  });
});

describe('apiCredentialFailure', () => {
  it('is a refusal for HTTP 401, with what the server said', () => {
    expect(apiCredentialFailure({ code: 401, body: '{"kind":"Status","message":"Unauthorized","code":401}' })).toEqual({
      kind: 'refused',
      serverMessage: 'Unauthorized',
    });
    expect(apiCredentialFailure(Object.assign(new Error('Unauthorized'), { statusCode: 401 }))).toEqual({ kind: 'refused', serverMessage: 'Unauthorized' });
    // The typed APIs keep no body for a 401: what the server said is on the ApiException's Message line.
    const typed = Object.assign(new Error('HTTP-Code: 401\nMessage: Unauthorized\nBody: undefined\nHeaders: {}'), { code: 401, body: undefined });
    expect(apiCredentialFailure(typed)).toEqual({ kind: 'refused', serverMessage: 'Unauthorized' });
  });

  it('leaves a 403 to the calls that need the permission, unless the cluster saw no credentials at all', () => {
    const forbidden = (user: string) => ({
      code: 403,
      body: { message: `selfsubjectreviews.authentication.k8s.io is forbidden: User "${user}" cannot create resource` },
    });
    expect(apiCredentialFailure(forbidden('dev'))).toBeUndefined();
    expect(apiCredentialFailure(forbidden('system:anonymous'))).toEqual({ kind: 'anonymous' });
    expect(apiCredentialFailure({ code: 500 })).toBeUndefined();
    expect(apiCredentialFailure(new Error('connect ECONNREFUSED 127.0.0.1:6443'))).toBeUndefined();
  });
});

describe('describeCredentialFailure', () => {
  it('names the context, the user, the plugin, its message and the login to run', () => {
    const line = describeCredentialFailure(awsOwner, { kind: 'exec-failed', exitCode: 255, signal: null, stderrLine: 'Error loading SSO Token' });
    expect(line).toBe(
      'cannot get credentials for user "arn:aws:eks:eu-west-1:1:cluster/prod" of context "prod": ' +
        'exec plugin `aws` exited with code 255: Error loading SSO Token; ' +
        'log in again (`aws sso login --profile ops`) or run `aws eks get-token --cluster-name prod --profile ops` yourself to see the whole error',
    );
  });

  it('says what the cluster refused and points at kubectl auth whoami', () => {
    expect(describeCredentialFailure(tokenOwner, { kind: 'refused', serverMessage: 'Unauthorized' })).toBe(
      'the cluster refused the token of user "dev-user" of context "dev": HTTP 401 Unauthorized: expired, revoked or for another cluster; ' +
        'put a new one in the kubeconfig, then try `kubectl --context dev auth whoami`',
    );
    const refusedPlugin = describeCredentialFailure(awsOwner, { kind: 'refused' });
    expect(refusedPlugin).toContain(
      'the cluster refused the token exec plugin `aws` gave user "arn:aws:eks:eu-west-1:1:cluster/prod" of context "prod": HTTP 401;',
    );
    expect(refusedPlugin).toContain('`aws sso login --profile ops`');
    const certificate = describeCredentialFailure({ ...tokenOwner, source: { kind: 'client-certificate' } }, { kind: 'refused' });
    expect(certificate).toMatch(/^the cluster refused the client certificate of user "dev-user" of context "dev": HTTP 401: it is not signed by a CA/);
  });

  it('gives the plugin installHint when the plugin is not found, and the gcloud login for the GKE plugin', () => {
    const gke: CredentialOwner = {
      context: 'gke_p_z_c',
      user: 'gke_p_z_c',
      source: {
        kind: 'exec',
        exec: { command: 'gke-gcloud-auth-plugin', args: [], env: [], installHint: 'Install gke-gcloud-auth-plugin for use with kubectl\nsecond line' },
      },
    };
    expect(describeCredentialFailure(gke, { kind: 'exec-not-found' })).toBe(
      'cannot get credentials for user "gke_p_z_c" of context "gke_p_z_c": exec plugin `gke-gcloud-auth-plugin` not found ' +
        '(Install gke-gcloud-auth-plugin for use with kubectl); install it or put it on PATH, then try `kubectl --context gke_p_z_c auth whoami`',
    );
    expect(describeCredentialFailure(gke, { kind: 'exec-timeout', seconds: 60 })).toContain('gave none within 60s');
    expect(describeCredentialFailure(gke, { kind: 'exec-expired', expiredAt: '2026-06-01T11:00:00Z' })).toContain('log in again (`gcloud auth login`)');
  });

  it('is one line for every failure', () => {
    const failures = [
      { kind: 'refused', call: 'apply Deployment/x in ns failed: HTTP 401: Unauthorized' },
      { kind: 'anonymous' },
      { kind: 'exec-not-found' },
      { kind: 'exec-not-runnable', reason: 'permission denied' },
      { kind: 'exec-failed', exitCode: null, signal: 'SIGSEGV' },
      { kind: 'exec-timeout', seconds: 60 },
      { kind: 'exec-bad-output', problem: 'it printed nothing' },
      { kind: 'exec-expired', expiredAt: 'x' },
      { kind: 'certificate-expired', notAfter: 'x' },
      { kind: 'certificate-unreadable', reason: 'ENOENT' },
    ] as const;
    for (const failure of failures) {
      for (const owner of [awsOwner, tokenOwner]) {
        const line = describeCredentialFailure(owner, failure);
        expect(line).not.toContain('\n');
        expect(line).toContain(`of context "${owner.context}"`);
      }
    }
  });
});

describe('shellLine', () => {
  it('quotes only the words a shell would split or expand', () => {
    expect(shellLine('aws', ['--region', 'eu-west-1', 'eks', 'get-token'])).toBe('aws --region eu-west-1 eks get-token');
    expect(shellLine('/opt/my tools/get-token', ["it's", '$HOME'])).toBe(`'/opt/my tools/get-token' 'it'\\''s' '$HOME'`);
  });
});

describe('credentialFailureOf', () => {
  const kubeConfig = kubeConfigWith({ token: 't' });

  it('turns a 401 of a later call into TL_CLUSTER_CREDENTIALS naming the context and the user', () => {
    const failure = credentialFailureOf(target(kubeConfig), { code: 401, body: { message: 'Unauthorized' } });
    expect(failure).toBeInstanceOf(TurboliftError);
    expect(failure?.code).toBe('TL_CLUSTER_CREDENTIALS');
    expect(failure?.message).toMatch(/^the cluster refused the token of user "dev-user" of context "dev": HTTP 401 Unauthorized/);
  });

  it('recognises the 401 inside an apply failure and inside a reason line', () => {
    const applied = credentialFailureOf(target(kubeConfig), new ApplyError('apply Deployment/x in ns failed: HTTP 401: Unauthorized'));
    expect(applied?.message).toMatch(
      /^the cluster refused the token of user "dev-user" of context "dev" \(apply Deployment\/x in ns failed: HTTP 401: Unauthorized\)/,
    );
    const reason = credentialFailureOf(target(kubeConfig), 'watching Pod in ns failed 3 times: HTTP 401: Unauthorized');
    expect(reason?.code).toBe('TL_CLUSTER_CREDENTIALS');
  });

  it('leaves every other failure alone', () => {
    expect(credentialFailureOf(target(kubeConfig), { code: 403, body: { message: 'forbidden: User "dev" cannot patch' } })).toBeUndefined();
    expect(credentialFailureOf(target(kubeConfig), new ApplyError('apply Deployment/x failed: HTTP 422: invalid'))).toBeUndefined();
    expect(credentialFailureOf(target(kubeConfig), 'x: 0/1 ready: ImagePullBackOff')).toBeUndefined();
    const already = new TurboliftError('TL_CLUSTER_CREDENTIALS', 'as it was');
    expect(credentialFailureOf(target(kubeConfig), already)).toBe(already);
  });
});

describe('loadClusterTarget keeps the credentials kubectl would use', () => {
  let folder: string | undefined;
  afterEach(() => {
    if (folder) rmSync(folder, { recursive: true, force: true });
    folder = undefined;
  });

  const write = (user: string | ((folder: string) => string)) => {
    folder = mkdtempSync(join(tmpdir(), 'turbolift-kubeconfig-'));
    const file = join(folder, 'config');
    if (typeof user === 'function') user = user(folder);
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]
users: [{name: u, user: ${user}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`,
    );
    return file;
  };

  it('trims the newline a token file ends with (no HTTP header may hold it)', () => {
    const file = write((folder) => {
      writeFileSync(join(folder, 'token'), 'abc\n');
      return `{token-file: ${join(folder, 'token')}}`;
    });
    expect(loadClusterTarget({ kubeconfig: file }).kubeConfig.getCurrentUser()?.token).toBe('abc');
  });

  it("resolves an exec command that is a relative path against the kubeconfig's folder, and leaves a bare name to PATH", () => {
    const relative = write('{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/get-token, args: [a]}}');
    expect(loadClusterTarget({ kubeconfig: relative }).kubeConfig.getCurrentUser()?.exec).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      command: join(folder!, 'bin', 'get-token'),
      args: ['a'],
    });
    rmSync(folder!, { recursive: true, force: true });
    const bare = write('{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}');
    expect(loadClusterTarget({ kubeconfig: bare }).kubeConfig.getCurrentUser()?.exec.command).toBe('aws');
  });
});
