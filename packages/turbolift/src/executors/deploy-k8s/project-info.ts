import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import type { ProjectInfo } from './normalize-options';

export function projectInfo(context: ExecutorContext, executor: string): ProjectInfo {
  const projectName = context.projectName;
  const project = projectName ? context.projectsConfigurations?.projects?.[projectName] : undefined;
  if (!projectName || !project) throw new Error(`${executor} must run as a target of a project`);
  return { projectName, projectRoot: project.root, workspaceRoot: context.root, workspaceName: readWorkspaceName(context.root) };
}

function readWorkspaceName(workspaceRoot: string): string | undefined {
  try {
    const name = (JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8')) as { name?: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}
