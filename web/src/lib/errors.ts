/**
 * API failures in plain French. Expected failures come as a result union member with a `code`
 * (and, for `ValidationError`, the `field` at fault); unexpected ones as GraphQL errors with
 * `extensions.code`, or a network failure.
 */
import { has, t } from "../i18n";

export type FieldErrors = Record<string, string>;

export interface ShownError {
  /** Shown next to the field it names, when the API names one we display. */
  field: string | null;
  message: string;
}

/** The French message for an API error code; a generic one for codes we do not know. */
export function messageForCode(code: string | null | undefined): string {
  const key = `error.${code ?? "UNKNOWN"}`;
  return has(key) ? t(key) : t("error.UNKNOWN");
}

interface MutationErrorLike {
  __typename?: string;
  code?: string | null;
  field?: string | null;
}

/** A result union member that is an error (it carries a `code`), translated. */
export function fromResult(result: MutationErrorLike): ShownError | null {
  if (!result || typeof result.code !== "string") return null;
  return { field: result.field ?? null, message: messageForCode(result.code) };
}

interface CombinedErrorLike {
  networkError?: Error | undefined;
  graphQLErrors?: ReadonlyArray<{ extensions?: Record<string, unknown> }>;
}

/** A transport or GraphQL-level failure (urql's CombinedError), translated. */
export function fromCombined(error: CombinedErrorLike | null | undefined): ShownError | null {
  if (!error) return null;
  const first = error.graphQLErrors?.[0];
  const code = first?.extensions?.["code"];
  if (typeof code === "string") return { field: null, message: messageForCode(code) };
  if (error.networkError) return { field: null, message: t("error.NETWORK") };
  return { field: null, message: t("error.UNKNOWN") };
}

/**
 * The API names fields by their input path ("input.title", "startsOn"); forms key their errors by
 * their own names. Returns the form field the error belongs to, or null (a form-level message).
 */
export function fieldFor(apiField: string | null, known: readonly string[]): string | null {
  if (!apiField) return null;
  const last = apiField.split(".").pop() ?? apiField;
  return known.includes(last) ? last : null;
}
