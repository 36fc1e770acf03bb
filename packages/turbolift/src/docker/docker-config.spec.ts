import { describe, expect, it } from 'vitest';
import { authForRegistry, authFromHelper } from './docker-config';

const basic = (user: string, pass: string) => Buffer.from(`${user}:${pass}`).toString('base64');

describe('authForRegistry', () => {
  it('decodes the auth that docker login stored for the registry', () => {
    const config = { auths: { 'registry.internal:5000': { auth: basic('ci', 'p:ss') } } };
    expect(authForRegistry(config, 'registry.internal:5000')).toEqual({
      auth: { username: 'ci', password: 'p:ss', serveraddress: 'registry.internal:5000' },
    });
  });

  it('finds entries stored under a URL', () => {
    const config = { auths: { 'https://registry.internal': { auth: basic('u', 'p') } } };
    expect(authForRegistry(config, 'registry.internal').auth?.username).toBe('u');
  });

  it('points to the credential helper of the registry, else to the credential store', () => {
    const config = { credsStore: 'pass', credHelpers: { 'registry.internal': 'ecr-login' } };
    expect(authForRegistry(config, 'registry.internal')).toEqual({ helper: 'ecr-login' });
    expect(authForRegistry(config, 'other.internal')).toEqual({ helper: 'pass' });
  });

  it('reads a helper answer as user/password, or as an identity token', () => {
    expect(authFromHelper({ Username: 'ci', Secret: 's' }, 'r')).toEqual({ username: 'ci', password: 's', serveraddress: 'r' });
    expect(authFromHelper({ Username: '<token>', Secret: 't' }, 'r')).toEqual({ identitytoken: 't', serveraddress: 'r' });
    expect(authFromHelper({}, 'r')).toBeUndefined();
  });

  it('returns nothing for a registry without credentials', () => {
    expect(authForRegistry({ auths: { other: { auth: basic('u', 'p') } } }, '127.0.0.1:5000')).toEqual({});
  });
});
