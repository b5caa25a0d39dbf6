/** Formatting for people: distances, dates and amounts in French. Pure functions. */

const number1 = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

/**
 * A distance in metres as people say it: "300 m" under a kilometre (to the nearest 100 m, as the
 * API rounds them), "1,5 km" up to 10 km, "12 km" beyond.
 */
export function formatDistance(distanceM: number): string {
  if (!Number.isFinite(distanceM) || distanceM < 0) return "";
  if (distanceM < 950) return `${Math.max(100, Math.round(distanceM / 100) * 100)} m`;
  const km = distanceM / 1000;
  if (km < 10) return `${number1.format(Math.round(km * 10) / 10)} km`;
  return `${Math.round(km).toLocaleString("fr-FR")} km`;
}

const dateTime = new Intl.DateTimeFormat("fr-FR", {
  weekday: "long",
  day: "numeric",
  month: "long",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "Europe/Paris",
});
const dateOnly = new Intl.DateTimeFormat("fr-FR", {
  weekday: "long",
  day: "numeric",
  month: "long",
  timeZone: "UTC",
});

/** "samedi 5 décembre à 14:30" for an ISO date-time, in Paris time. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

/** "samedi 5 décembre" for an ISO calendar date (YYYY-MM-DD). */
export function formatDate(isoDate: string): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? isoDate : dateOnly.format(date);
}

/** Euros from cents: 5000 → "50 €", 250 → "2,50 €". */
export function formatEuros(cents: number): string {
  return new Intl.NumberFormat("fr-FR", {
    style: "currency",
    currency: "EUR",
    minimumFractionDigits: cents % 100 === 0 ? 0 : 2,
  }).format(cents / 100);
}

/** YYYY-MM-DD of `days` days after `from` (local calendar), for date inputs. */
export function isoDay(from: Date, days = 0): string {
  const date = new Date(from.getFullYear(), from.getMonth(), from.getDate() + days);
  const month = String(date.getMonth() + 1).padStart(2, "0");
  const day = String(date.getDate()).padStart(2, "0");
  return `${date.getFullYear()}-${month}-${day}`;
}

/** A `datetime-local` input value ("2026-12-05T14:30") as an ISO date-time with its offset. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
