import { describe, expect, it } from 'vitest';
import { authForRegistry } from './docker-config';

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

  it('says so when the credentials sit in a credential helper it does not call', () => {
    const lookup = authForRegistry({ credHelpers: { 'registry.internal': 'ecr-login' } }, 'registry.internal');
    expect(lookup.auth).toBeUndefined();
    expect(lookup.note).toContain('docker-credential-ecr-login');
  });

  it('returns nothing for a registry without credentials', () => {
    expect(authForRegistry({ auths: { other: { auth: basic('u', 'p') } } }, '127.0.0.1:5000')).toEqual({});
  });
});
