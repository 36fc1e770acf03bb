/**
 * The Dockerfile of a lifted service, kept as data: a list of instructions built by a pure function
 * and rendered to text by another. The build context has the Dockerfile at its root and the bundle
 * (main.js, main.js.map, package.json, maybe package-lock.json) under `bundle/`.
 */
export interface DockerfileSpec {
  baseImage: string;
  /** The bundle's package.json lists packages esbuild left external: they are installed with npm in the image. */
  hasExternals: boolean;
  nodeEnv?: string;
  /** Non-root user that runs the service; must exist in the base image (`node` in the official images). */
  user?: string;
  port?: number;
}

export interface DockerInstruction {
  keyword: 'FROM' | 'ENV' | 'WORKDIR' | 'COPY' | 'RUN' | 'USER' | 'EXPOSE' | 'CMD';
  args: string;
  /** Why the instruction is there, rendered as a comment above it. */
  comment?: string;
}

export const BUNDLE_DIR_IN_CONTEXT = 'bundle';
export const DEFAULT_CONTAINER_PORT = 8080;

export function planDockerfile(spec: DockerfileSpec): DockerInstruction[] {
  const port = spec.port ?? DEFAULT_CONTAINER_PORT;
  const instructions: DockerInstruction[] = [
    { keyword: 'FROM', args: spec.baseImage },
    {
      keyword: 'ENV',
      args: `NODE_ENV=${spec.nodeEnv ?? 'production'} HOST=0.0.0.0 PORT=${port}`,
      comment: 'In a container the service must listen on every interface, not only loopback.',
    },
    { keyword: 'WORKDIR', args: '/app' },
  ];
  if (spec.hasExternals) {
    instructions.push(
      {
        keyword: 'COPY',
        args: `${BUNDLE_DIR_IN_CONTEXT}/package*.json ./`,
        comment: 'Packages esbuild left external; copied first so the install layer is reused while only code changes.',
      },
      { keyword: 'RUN', args: 'npm install --omit=dev --no-audit --no-fund && npm cache clean --force' },
    );
  }
  instructions.push(
    { keyword: 'COPY', args: `${BUNDLE_DIR_IN_CONTEXT}/ ./` },
    { keyword: 'USER', args: spec.user ?? 'node' },
    { keyword: 'EXPOSE', args: String(port) },
    { keyword: 'CMD', args: JSON.stringify(['node', '--enable-source-maps', 'main.js']) },
  );
  return instructions;
}

export function renderInstructions(instructions: readonly DockerInstruction[]): string {
  const lines = ['# Rendered by turbolift build-image. A Dockerfile in the service project replaces this one.'];
  for (const { keyword, args, comment } of instructions) {
    if (comment) lines.push(`# ${comment}`);
    lines.push(`${keyword} ${args}`);
  }
  return lines.join('\n') + '\n';
}

export function renderDockerfile(spec: DockerfileSpec): string {
  return renderInstructions(planDockerfile(spec));
}
