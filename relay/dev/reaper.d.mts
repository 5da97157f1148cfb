// Types of reaper.mjs (plain JS so that its watcher starts without a TypeScript loader).
export function registryDir(): string;
export function destroy(file: string): void;
export function sweep(dir?: string): void;
