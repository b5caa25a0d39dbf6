import { t } from "../i18n";
import { formatEuros } from "./format";

/** The lending terms of an item in words: "Prêt gratuit", "Caution de 50 €", "5 € par jour". */
export function termsText(item: {
  terms: string;
  depositCents?: number | null;
  pricePerDayCents?: number | null;
}): string {
  if (item.terms === "DEPOSIT" && item.depositCents != null)
    return t("terms.DEPOSIT", { amount: formatEuros(item.depositCents) });
  if (item.terms === "PRICE_PER_DAY" && item.pricePerDayCents != null)
    return t("terms.PRICE_PER_DAY", { amount: formatEuros(item.pricePerDayCents) });
  return t("terms.FREE");
}
