// Node entry to the test infrastructure, for vitest/jest setup and the benchmark:
// runs up.sh (idempotent, quick when everything answers) and returns where things are.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const UP = join(__dirname, 'up.sh');
const DOWN = join(__dirname, 'down.sh');

function parseExports(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

let cached;

/** Starts what is missing (engine, registries, base image, npm registry) and returns the values up.sh exported. */
function ensureTestInfra() {
  if (cached) return cached;
  let out;
  try {
    out = execFileSync('bash', [UP], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 });
  } catch (error) {
    const stderr = String(error.stderr || '')
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n');
    throw new Error(`tools/test-infra/up.sh failed (exit ${error.status ?? error.signal}):\n${stderr}`);
  }
  const env = parseExports(out);
  cached = {
    dockerHost: env.DOCKER_HOST,
    registry: env.TURBOLIFT_TEST_REGISTRY,
    baseImage: env.TURBOLIFT_TEST_BASE_IMAGE,
    remoteBaseImage: env.TURBOLIFT_TEST_REMOTE_BASE_IMAGE,
    stateDir: env.TURBOLIFT_TEST_INFRA_DIR,
    authRegistry: {
      registry: env.TURBOLIFT_TEST_AUTH_REGISTRY,
      username: env.TURBOLIFT_TEST_AUTH_REGISTRY_USER,
      password: readFileSync(env.TURBOLIFT_TEST_AUTH_REGISTRY_PASSWORD_FILE, 'utf8').trim(),
      passwordFile: env.TURBOLIFT_TEST_AUTH_REGISTRY_PASSWORD_FILE,
      dockerConfig: env.TURBOLIFT_TEST_AUTH_DOCKER_CONFIG,
    },
    npmRegistry: { url: env.TURBOLIFT_TEST_NPM_REGISTRY, tokenFile: env.TURBOLIFT_TEST_NPM_REGISTRY_TOKEN_FILE },
  };
  return cached;
}

/** Stops what up.sh started (by PID) and removes its state folder. */
function stopTestInfra() {
  execFileSync('bash', [DOWN], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 5 * 60_000 });
  cached = undefined;
}

/**
 * For vitest `globalSetup` (and jest globalSetup/globalTeardown): brings the infrastructure up and, when
 * this run is the one that started something, stops it again at the end. Set TURBOLIFT_TEST_INFRA_KEEP=1
 * to leave it running.
 */
function startedSomething(stateDir) {
  const file = join(stateDir, 'started');
  return existsSync(file) && readFileSync(file, 'utf8').trim() !== '';
}

function globalSetup() {
  const stateDir = process.env.TURBOLIFT_TEST_INFRA_DIR || '/tmp/turbolift-test-infra';
  const alreadyOwned = startedSomething(stateDir);
  const infra = ensureTestInfra();
  const ownedByThisRun = !alreadyOwned && startedSomething(infra.stateDir);
  return function teardown() {
    if (ownedByThisRun && process.env.TURBOLIFT_TEST_INFRA_KEEP !== '1') stopTestInfra();
  };
}

module.exports = { ensureTestInfra, stopTestInfra, globalSetup, default: globalSetup };
