/**
 * A value shared by every copy of core in the process, created on first use. A CommonJS program
 * (the built CLI) loads core's CJS build, while its dynamic `import()` of a package that registers
 * a backend loads that package's ESM build with core's ESM build: the registries both copies use
 * (backend traits, backend setups, graph-decode kernels) must be one object, or what the backend
 * package registers is never seen by the model code.
 */
export function processWide<T>(name: string, make: () => T): T {
  const key = Symbol.for(`@metad2a/core:${name}`);
  const g = globalThis as Record<symbol, unknown>;
  if (!(key in g)) g[key] = make();
  return g[key] as T;
}
