// Cluster credentials: one authenticated call before deploy or undeploy touches anything, so that an expired token,
// a refused certificate or a failing exec plugin ends the run with one line that names the kubeconfig context and
// user, says what happened and what to run. The pure part (what the user entry holds, what went wrong, the line)
// is separate from the runner (the plugin run, the certificate read, the API call).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { basename } from 'node:path';
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig, type User } from '@kubernetes/client-node';
import { isTurboliftError, TurboliftError } from '../errors';
import { describeApiError, httpStatusOf, withTimeout } from './api-errors';
import type { ClusterTarget } from './kubeconfig';

export const ACCESS_CHECK_TIMEOUT_MS = 30_000;
/** A plugin gets longer than an API call: `aws eks get-token` may first refresh an SSO session over the network. */
export const EXEC_PLUGIN_TIMEOUT_MS = 60_000;

// ---- pure: what the user entry holds -------------------------------------------------------------------

export interface ExecPlugin {
  command: string;
  args: string[];
  /** `users[].user.exec.env`, added to the environment the plugin inherits (as client-node does). */
  env: Array<{ name: string; value: string }>;
  /** `users[].user.exec.installHint`: what the plugin's author says to do when it is missing. */
  installHint?: string;
}

export type CredentialSource =
  | { kind: 'exec'; exec: ExecPlugin }
  | { kind: 'token' }
  /** A token read from a file on every request: the in-cluster ServiceAccount's, as client-node sets it up. */
  | { kind: 'token-file'; file: string }
  | { kind: 'client-certificate' }
  | { kind: 'auth-provider'; name: string }
  | { kind: 'basic' }
  | { kind: 'none' };

export interface CredentialOwner {
  context: string;
  /** The kubeconfig's user entry name (`contexts[].context.user`). */
  user: string;
  source: CredentialSource;
}

/**
 * What authenticates the context's requests, in client-node's order: an exec plugin runs whenever there is one
 * (so its failure is what a request meets first), a static token then wins the Authorization header, and a client
 * certificate counts only when nothing else is sent.
 */
export function credentialOwnerOf(kubeConfig: KubeConfig, context: string): CredentialOwner {
  const userName = kubeConfig.getContextObject(context)?.user ?? '';
  const user = userName ? kubeConfig.getUser(userName) : null;
  return { context, user: userName || '(none)', source: user ? sourceOf(user) : { kind: 'none' } };
}

function sourceOf(user: User): CredentialSource {
  const exec = (user.exec ?? user.authProvider?.config?.exec) as Record<string, unknown> | undefined;
  if (exec && typeof exec.command === 'string') {
    return {
      kind: 'exec',
      exec: {
        command: exec.command,
        args: Array.isArray(exec.args) ? exec.args.map(String) : [],
        env: Array.isArray(exec.env) ? (exec.env as Array<{ name: string; value: string }>).filter((entry) => entry && typeof entry.name === 'string') : [],
        installHint: typeof exec.installHint === 'string' ? exec.installHint : undefined,
      },
    };
  }
  if (user.token) return { kind: 'token' };
  const tokenFile = user.authProvider?.config?.tokenFile;
  if (typeof tokenFile === 'string') return { kind: 'token-file', file: tokenFile };
  if (user.authProvider) return { kind: 'auth-provider', name: String(user.authProvider.name ?? 'auth-provider') };
  if (user.certData || user.certFile) return { kind: 'client-certificate' };
  if (user.username) return { kind: 'basic' };
  return { kind: 'none' };
}

// ---- pure: what went wrong -----------------------------------------------------------------------------

export type CredentialFailure =
  /** HTTP 401; `call` is the later call's own line when the refusal came mid-deploy. */
  | { kind: 'refused'; serverMessage?: string; call?: string }
  /** The cluster took the requests as `system:anonymous`: nothing in the user entry authenticated them. */
  | { kind: 'anonymous' }
  | { kind: 'exec-not-found' }
  | { kind: 'exec-not-runnable'; reason: string }
  | { kind: 'exec-failed'; exitCode: number | null; signal: string | null; stderrLine?: string }
  | { kind: 'exec-timeout'; seconds: number }
  | { kind: 'exec-bad-output'; problem: string }
  | { kind: 'exec-expired'; expiredAt: string }
  | { kind: 'certificate-expired'; notAfter: string }
  | { kind: 'certificate-unreadable'; reason: string };

/** What a plugin run gave: the runner fills this in, `execPluginFailure` judges it. */
export interface ExecPluginRun {
  /** The spawn itself failed (`ENOENT`: not found, `EACCES`: not executable). */
  spawnError?: { code?: string; message: string };
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/**
 * The failure of a plugin run, or undefined when it printed a credential client-node can use: an `ExecCredential`
 * whose `status` has a `token` or a client certificate and key, not already expired.
 */
export function execPluginFailure(run: ExecPluginRun, now: Date, timeoutMs: number): CredentialFailure | undefined {
  if (run.timedOut) return { kind: 'exec-timeout', seconds: Math.round(timeoutMs / 1000) };
  if (run.spawnError) {
    if (run.spawnError.code === 'ENOENT') return { kind: 'exec-not-found' };
    return {
      kind: 'exec-not-runnable',
      reason: run.spawnError.code === 'EACCES' ? 'permission denied' : firstLine(run.spawnError.message) || 'cannot start it',
    };
  }
  if (run.exitCode !== 0) return { kind: 'exec-failed', exitCode: run.exitCode, signal: run.signal, stderrLine: firstLine(run.stderr) };
  let credential: unknown;
  try {
    credential = JSON.parse(run.stdout);
  } catch {
    return { kind: 'exec-bad-output', problem: run.stdout.trim() ? 'its output is not JSON' : 'it printed nothing' };
  }
  const status = (credential as { status?: unknown } | null)?.status as Record<string, unknown> | undefined;
  if (!status || typeof status !== 'object') return { kind: 'exec-bad-output', problem: 'its output has no status' };
  const hasToken = typeof status.token === 'string' && status.token !== '';
  const hasCertificate = typeof status.clientCertificateData === 'string' && typeof status.clientKeyData === 'string';
  if (!hasToken && !hasCertificate) return { kind: 'exec-bad-output', problem: 'its status has neither token nor clientCertificateData and clientKeyData' };
  if (typeof status.expirationTimestamp === 'string') {
    const expiresAt = Date.parse(status.expirationTimestamp);
    if (Number.isFinite(expiresAt) && expiresAt <= now.getTime()) return { kind: 'exec-expired', expiredAt: status.expirationTimestamp };
  }
  return undefined;
}

/** An expired client certificate, checked here because the cluster answers it with a bare 401. */
export function certificateFailure(notAfter: Date, now: Date): CredentialFailure | undefined {
  return notAfter.getTime() <= now.getTime() ? { kind: 'certificate-expired', notAfter: notAfter.toISOString() } : undefined;
}

/**
 * The credential failure in an API error, or undefined. HTTP 403 is not one: the cluster knew who was asking and
 * said no to that verb and resource. The check's own call (SelfSubjectReview) is allowed to every authenticated user
 * by default, so a 403 there means a cluster that removed that grant, not a deploy that cannot work; the later calls
 * name their own verb and resource in their 403 lines. Only a 403 for `system:anonymous` is a credential failure:
 * the user entry sent nothing the cluster recognised.
 */
export function apiCredentialFailure(error: unknown): CredentialFailure | undefined {
  const status = httpStatusOf(error);
  if (status === 401) return { kind: 'refused', serverMessage: serverMessageOf(error) };
  if (status === 403 && /"system:anonymous"/.test(describeApiError(error))) return { kind: 'anonymous' };
  return undefined;
}

/** `describeApiError`'s line minus its `HTTP 401` prefix: what the server said, when it said more. */
function serverMessageOf(error: unknown): string | undefined {
  const message = describeApiError(error).replace(/^HTTP \d+:?\s*/, '');
  return message || undefined;
}

// ---- pure: the line ------------------------------------------------------------------------------------

/** One line: whose credentials (context and user), what happened, what to run. */
export function describeCredentialFailure(owner: CredentialOwner, failure: CredentialFailure): string {
  const who = `user "${owner.user}" of context "${owner.context}"`;
  const thenWhoami = `then try \`kubectl --context ${shellWord(owner.context)} auth whoami\``;
  const source = owner.source;
  const exec = source.kind === 'exec' ? source.exec : undefined;
  const plugin = exec ? `exec plugin \`${exec.command}\`` : 'exec plugin';
  const cannotGet = `cannot get credentials for ${who}: ${plugin}`;
  const runIt = exec ? `run \`${shellLine(exec.command, exec.args)}\` yourself` : 'run it yourself';
  const login = exec ? loginHint(exec) : undefined;
  const loginOr = login ? `log in again (\`${login}\`) or ` : '';
  switch (failure.kind) {
    case 'refused': {
      const what = failure.call ? ` (${failure.call})` : `: HTTP 401${failure.serverMessage ? ` ${failure.serverMessage}` : ''}`;
      switch (source.kind) {
        case 'exec':
          return `the cluster refused the token ${plugin} gave ${who}${what}; ${loginOr}${runIt} and check it is for this cluster, ${thenWhoami}`;
        case 'token':
          return `the cluster refused the token of ${who}${what}: expired, revoked or for another cluster; put a new one in the kubeconfig, ${thenWhoami}`;
        case 'token-file':
          return `the cluster refused the token in ${source.file} of ${who}${what}: expired, or its ServiceAccount was deleted; ${thenWhoami}`;
        case 'client-certificate':
          return `the cluster refused the client certificate of ${who}${what}: it is not signed by a CA the cluster trusts; get a new one, ${thenWhoami}`;
        case 'auth-provider':
          return `the cluster refused the credentials auth-provider ${source.name} gave ${who}${what}; log in again with your provider's tool, ${thenWhoami}`;
        default:
          return `the cluster refused the credentials of ${who}${what}; fix the user entry in the kubeconfig, ${thenWhoami}`;
      }
    }
    case 'anonymous':
      return (
        `the cluster took the requests of ${who} as anonymous (system:anonymous): the user entry has no token, client certificate ` +
        `or exec plugin it accepts; fix the kubeconfig, ${thenWhoami}`
      );
    case 'exec-not-found': {
      const hint = exec?.installHint ? ` (${firstLine(exec.installHint)})` : '';
      return `${cannotGet} not found${hint}; install it or put it on PATH, ${thenWhoami}`;
    }
    case 'exec-not-runnable':
      return `${cannotGet} cannot be started (${failure.reason}); fix users[].user.exec.command in the kubeconfig, ${thenWhoami}`;
    case 'exec-failed': {
      const ended = failure.exitCode !== null ? `exited with code ${failure.exitCode}` : `was killed by ${failure.signal ?? 'a signal'}`;
      const said = failure.stderrLine ? `: ${failure.stderrLine}` : ' and printed nothing on stderr';
      return `${cannotGet} ${ended}${said}; ${loginOr}${runIt} to see the whole error`;
    }
    case 'exec-timeout':
      return `${cannotGet} gave none within ${failure.seconds}s (it runs without a terminal, so it cannot ask for input); ${loginOr}${runIt}`;
    case 'exec-bad-output':
      return `${cannotGet} printed no usable ExecCredential (${failure.problem}); ${runIt} and check it prints one with status.token`;
    case 'exec-expired':
      return `${cannotGet} gave a credential that expired at ${failure.expiredAt}; ${loginOr}${runIt}`;
    case 'certificate-expired':
      return `the client certificate of ${who} expired at ${failure.notAfter}; get a new one, ${thenWhoami}`;
    case 'certificate-unreadable':
      return `cannot read the client certificate of ${who}: ${failure.reason}; fix client-certificate(-data) in the kubeconfig, ${thenWhoami}`;
  }
}

/**
 * The login a plugin's failure usually asks for: the plugins' own tools, keyed by command name. A plugin not listed
 * gets only "run it yourself", which shows its own advice.
 */
function loginHint(exec: ExecPlugin): string | undefined {
  const command = basename(exec.command);
  if (command === 'aws' || command === 'aws-iam-authenticator') {
    const profileIndex = exec.args.indexOf('--profile');
    const profile = profileIndex >= 0 ? exec.args[profileIndex + 1] : exec.env.find((entry) => entry.name === 'AWS_PROFILE')?.value;
    return `aws sso login${profile ? ` --profile ${shellWord(profile)}` : ''}`;
  }
  if (command === 'gke-gcloud-auth-plugin' || command === 'gcloud') return 'gcloud auth login';
  if (command === 'kubelogin') return 'az login';
  return undefined;
}

/** The command as a user would type it in a POSIX shell. */
export function shellLine(command: string, args: readonly string[]): string {
  return [command, ...args].map(shellWord).join(' ');
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function firstLine(text: string): string | undefined {
  const line = text
    .split('\n')
    .map((candidate) => candidate.trim())
    .find(Boolean);
  return line ? line.slice(0, 300) : undefined;
}

// ---- for the executors: a 401 in a later call --------------------------------------------------------

/**
 * For any failure of a deploy or undeploy after the check: the `TL_CLUSTER_CREDENTIALS` error that names the context
 * and the user when it was an HTTP 401 (a token that expired or was revoked mid-run), else undefined. It takes the
 * API error itself, a `TurboliftError` whose message carries `describeApiError`'s `HTTP 401` (an `ApplyError`), or a
 * result's reason line (a watch that was refused).
 */
export function credentialFailureOf(target: ClusterTarget, failure: unknown): TurboliftError<'TL_CLUSTER_CREDENTIALS'> | undefined {
  if (isTurboliftError(failure) && failure.code === 'TL_CLUSTER_CREDENTIALS') return failure as TurboliftError<'TL_CLUSTER_CREDENTIALS'>;
  const owner = credentialOwnerOf(target.kubeConfig, target.context);
  const direct = isTurboliftError(failure) || typeof failure === 'string' ? undefined : apiCredentialFailure(failure);
  if (direct) return new TurboliftError('TL_CLUSTER_CREDENTIALS', describeCredentialFailure(owner, direct), describeApiError(failure));
  const line = typeof failure === 'string' ? failure : failure instanceof Error ? failure.message : undefined;
  // describeApiError writes every HTTP failure as `HTTP <status>`; wrapped lines keep that text.
  if (line && /\bHTTP 401\b/.test(line)) {
    return new TurboliftError('TL_CLUSTER_CREDENTIALS', describeCredentialFailure(owner, { kind: 'refused', call: firstLine(line) }), line);
  }
  return undefined;
}

// ---- the runner ----------------------------------------------------------------------------------------

export interface ClusterAccess {
  /** Who the cluster says the credentials are, when it told (SelfSubjectReview). */
  username?: string;
}

export interface CheckClusterAccessOptions {
  timeoutMs?: number;
  execTimeoutMs?: number;
}

/**
 * One authenticated call (a SelfSubjectReview: it needs credentials, unlike `GET /version`, and no permission beyond
 * being authenticated) before anything is applied. Throws `TL_CLUSTER_CREDENTIALS` when the credentials are refused
 * or cannot be obtained; any other failure (no route, TLS) is thrown as it came, for the caller's usual line.
 */
export async function checkClusterAccess(target: ClusterTarget, options: CheckClusterAccessOptions = {}): Promise<ClusterAccess> {
  const owner = credentialOwnerOf(target.kubeConfig, target.context);
  const fail = (failure: CredentialFailure, detail?: string): never => {
    throw new TurboliftError('TL_CLUSTER_CREDENTIALS', describeCredentialFailure(owner, failure), detail);
  };

  // The plugin runs here first, under a bound and with its exit code and stderr kept: client-node's own run has
  // no time limit (a plugin waiting for input would hold the process) and keeps only stderr. Client-node runs it
  // again for the call below unless the credential carried an expirationTimestamp (then it reuses it).
  if (owner.source.kind === 'exec') {
    const execTimeoutMs = options.execTimeoutMs ?? EXEC_PLUGIN_TIMEOUT_MS;
    const run = await runExecPlugin(owner.source.exec, execTimeoutMs);
    const failure = execPluginFailure(run, new Date(), execTimeoutMs);
    if (failure) fail(failure, run.stderr.trim() || undefined);
  }
  if (owner.source.kind === 'client-certificate') {
    const user = target.kubeConfig.getUser(target.kubeConfig.getContextObject(target.context)?.user ?? '');
    const certificate = readCertificate(user);
    if ('reason' in certificate) fail({ kind: 'certificate-unreadable', reason: certificate.reason });
    else {
      const failure = certificateFailure(certificate.notAfter, new Date());
      if (failure) fail(failure);
    }
  }

  let access: ClusterAccess;
  try {
    access = await whoAmI(target.kubeConfig, options.timeoutMs ?? ACCESS_CHECK_TIMEOUT_MS);
  } catch (error) {
    const failure = apiCredentialFailure(error);
    if (failure) fail(failure, describeApiError(error));
    if (httpStatusOf(error) === 403) return {};
    // Anything else (no route, TLS, a plugin that failed on client-node's own run right after ours passed) is not
    // told apart here: it goes up as it came, and the caller's describeApiError gives its first line.
    throw error;
  }
  // A cluster that lets anonymous requests review themselves still says who they are.
  if (access.username === 'system:anonymous') fail({ kind: 'anonymous' });
  return access;
}

async function whoAmI(kubeConfig: KubeConfig, timeoutMs: number): Promise<ClusterAccess> {
  try {
    const review = await withTimeout(
      kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } }),
      timeoutMs,
      'SelfSubjectReview',
    );
    return { username: review.status?.userInfo?.username };
  } catch (error) {
    if (httpStatusOf(error) !== 404) throw error;
  }
  // Clusters before 1.28 have no authentication.k8s.io/v1 SelfSubjectReview; a SelfSubjectAccessReview needs the same.
  await withTimeout(
    kubeConfig.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { nonResourceAttributes: { path: '/api', verb: 'get' } } },
    }),
    timeoutMs,
    'SelfSubjectAccessReview',
  );
  return {};
}

/** Runs the plugin as client-node does (same command, arguments and environment), with stdin closed and a bound. */
export function runExecPlugin(exec: ExecPlugin, timeoutMs: number): Promise<ExecPluginRun> {
  return new Promise((resolve) => {
    const env = exec.env.length ? { ...process.env, ...Object.fromEntries(exec.env.map((entry) => [entry.name, String(entry.value)])) } : process.env;
    const run: ExecPluginRun = { exitCode: null, signal: null, timedOut: false, stdout: '', stderr: '' };
    const child = spawn(exec.command, exec.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(run);
    };
    const timer = setTimeout(() => {
      run.timedOut = true;
      child.kill('SIGKILL');
      // A process the plugin started may still hold the pipes open ('close' would wait for it): stop reading.
      child.stdout.destroy();
      child.stderr.destroy();
      settle();
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      run.spawnError = { code: error.code, message: error.message };
      settle();
    });
    child.on('close', (code, signal) => {
      run.exitCode = code;
      run.signal = signal;
      settle();
    });
  });
}

function readCertificate(user: User | null): { notAfter: Date } | { reason: string } {
  try {
    const pem = user?.certFile ? readFileSync(user.certFile) : Buffer.from(user?.certData ?? '', 'base64');
    return { notAfter: new Date(new X509Certificate(pem).validTo) };
  } catch (error) {
    return { reason: firstLine((error as Error).message) ?? 'not a certificate' };
  }
}
