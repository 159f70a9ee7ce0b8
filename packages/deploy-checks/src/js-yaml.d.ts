/** The part of js-yaml 3 used here (the package ships no types; @types/js-yaml is not installed). */
declare module 'js-yaml' {
  export function safeLoad(text: string, options?: { filename?: string; json?: boolean }): unknown;
  export function safeDump(value: unknown, options?: { lineWidth?: number; noRefs?: boolean; sortKeys?: boolean }): string;
}
