// The one function of semver (a dependency of the repository's tooling, without its own types here) the e2e uses.
declare module 'semver' {
  export function satisfies(version: string, range: string, options?: { includePrerelease?: boolean }): boolean;
}
