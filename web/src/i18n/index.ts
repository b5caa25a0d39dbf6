import { fr, type MessageKey } from "./fr";

export type { MessageKey };
export type Params = Record<string, string | number>;

const catalogue: Record<string, string> = fr;

/** The message of `key` with `{name}` placeholders filled; numbers in French notation. */
export function t(key: MessageKey, params: Params = {}): string {
  const template = catalogue[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === "number" ? value.toLocaleString("fr-FR") : value;
  });
}

/** Whether the catalogue has `key` (for keys built from API enums). */
export function has(key: string): key is MessageKey {
  return Object.hasOwn(catalogue, key);
}
