import { describe, expect, it } from "vitest";
import { formatDistance, formatEuros, isoDay, formatDate } from "./format";

describe("formatDistance", () => {
  it("says metres under a kilometre, to the nearest 100 m and never under 100 m", () => {
    expect(formatDistance(0)).toBe("100 m");
    expect(formatDistance(340)).toBe("300 m");
    expect(formatDistance(900)).toBe("900 m");
  });
  it("says kilometres with a French decimal comma up to 10 km", () => {
    expect(formatDistance(1000)).toBe("1 km");
    expect(formatDistance(1500)).toBe("1,5 km");
    expect(formatDistance(9940)).toBe("9,9 km");
  });
  it("rounds to whole kilometres beyond 10 km", () => {
    expect(formatDistance(12000)).toBe("12 km");
    expect(formatDistance(15499)).toBe("15 km");
  });
  it("shows nothing for a nonsense distance", () => {
    expect(formatDistance(Number.NaN)).toBe("");
    expect(formatDistance(-5)).toBe("");
  });
});

describe("formatEuros", () => {
  it("leaves out cents for whole euros", () => {
    expect(formatEuros(5000).replace(/\s/g, " ")).toBe("50 €");
    expect(formatEuros(250).replace(/\s/g, " ")).toBe("2,50 €");
  });
});

describe("dates", () => {
  it("counts days in the local calendar", () => {
    expect(isoDay(new Date(2026, 11, 31), 1)).toBe("2027-01-01");
  });
  it("names the day in French", () => {
    expect(formatDate("2026-12-05")).toBe("samedi 5 décembre");
  });
});
