/** Types of `ensure-test-tools.mjs`, for its test. */
export declare const tools: readonly ({ pkg: string; path: string } | { pkg: string; command: string })[];
export declare function onPath(name: string, path?: string): string | undefined;
export declare function missingTools(path?: string): string[];
export type Plan = { action: 'none' } | { action: 'install'; packages: string[] } | { action: 'fail'; line: string };
export declare function plan(machine: { missing: string[]; root: boolean; apt: boolean }): Plan;
