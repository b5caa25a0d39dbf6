import { describe, expect, it } from "vitest";
import { fieldFor, fromCombined, fromResult, messageForCode } from "./errors";
import { fr } from "../i18n/fr";
import { t } from "../i18n";

// Every ErrorCode of the committed schema has a French message (read from ../schema.graphql).
import schema from "../../../schema.graphql?raw";

describe("messageForCode", () => {
  it("translates every ErrorCode of the schema", () => {
    const block = /enum ErrorCode \{([\s\S]*?)\}/.exec(schema)?.[1] ?? "";
    const codes = block
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => /^[A-Z_]+$/.test(line));
    expect(codes.length).toBeGreaterThan(20);
    for (const code of codes) expect(Object.keys(fr)).toContain(`error.${code}`);
  });
  it("falls back to a generic message for an unknown code", () => {
    expect(messageForCode("SOMETHING_NEW")).toBe(fr["error.UNKNOWN"]);
    expect(messageForCode(null)).toBe(fr["error.UNKNOWN"]);
  });
  it("speaks plain French for wrong credentials", () => {
    expect(messageForCode("INVALID_CREDENTIALS")).toBe("Adresse e-mail ou mot de passe incorrect.");
  });
});

describe("fromResult and fromCombined", () => {
  it("keeps the field a validation error names", () => {
    expect(fromResult({ __typename: "ValidationError", code: "WEAK_PASSWORD", field: "input.password" })).toEqual({
      field: "input.password",
      message: fr["error.WEAK_PASSWORD"],
    });
    expect(fieldFor("input.password", ["email", "password"])).toBe("password");
    expect(fieldFor("input.location", ["email", "password"])).toBeNull();
  });
  it("translates GraphQL errors by extensions.code, and network failures", () => {
    expect(fromCombined({ graphQLErrors: [{ extensions: { code: "RATE_LIMITED" } }] })?.message).toBe(
      fr["error.RATE_LIMITED"],
    );
    expect(fromCombined({ networkError: new Error("down"), graphQLErrors: [] })?.message).toBe(fr["error.NETWORK"]);
    expect(fromCombined(null)).toBeNull();
  });
});

describe("t", () => {
  it("fills placeholders, numbers in French notation", () => {
    expect(t("hood.members", { count: 1234 }).replace(/\s/g, " ")).toBe("1 234 foyers membres");
    expect(t("lend.distance", { distance: "1,5 km" })).toBe("à 1,5 km");
  });
});
