import { describe, expect, it } from 'vitest';
import { planDockerfile, renderDockerfile } from './dockerfile';

describe('renderDockerfile', () => {
  it('runs the bundle as a non-root user in production mode, listening on every interface', () => {
    const text = renderDockerfile({ baseImage: 'node:20-slim', hasExternals: false });
    const lines = text.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(lines).toEqual([
      'FROM node:20-slim',
      'ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080',
      'WORKDIR /app',
      'COPY bundle/ ./',
      'USER node',
      'EXPOSE 8080',
      'CMD ["node","--enable-source-maps","main.js"]',
    ]);
  });

  it('installs external packages from package.json before copying the code, so code changes reuse the layer', () => {
    const keywords = planDockerfile({ baseImage: 'node:20-slim', hasExternals: true }).map((i) => `${i.keyword} ${i.args}`);
    const install = keywords.findIndex((line) => line.startsWith('RUN npm install --omit=dev'));
    expect(keywords).toContain('COPY bundle/package*.json ./');
    expect(install).toBeGreaterThan(keywords.indexOf('COPY bundle/package*.json ./'));
    expect(install).toBeLessThan(keywords.indexOf('COPY bundle/ ./'));
  });

  it('takes the base image, user and port it is given', () => {
    const text = renderDockerfile({ baseImage: 'turbolift-test/node:20', hasExternals: false, user: 'app', port: 9000, nodeEnv: 'staging' });
    expect(text).toContain('FROM turbolift-test/node:20\n');
    expect(text).toContain('USER app\n');
    expect(text).toContain('ENV NODE_ENV=staging HOST=0.0.0.0 PORT=9000\n');
    expect(text).toContain('EXPOSE 9000\n');
  });

  it('is a pure function of its input', () => {
    const spec = { baseImage: 'node:22-slim', hasExternals: true };
    expect(renderDockerfile(spec)).toBe(renderDockerfile({ ...spec }));
  });
});
