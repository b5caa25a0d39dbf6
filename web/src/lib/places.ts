/** Places a visitor can look around without sharing their position (lng/lat, WGS 84). */
import type { MessageKey } from "../i18n";

export interface Place {
  key: string;
  label: MessageKey;
  lng: number;
  lat: number;
}

export const PLACES: readonly Place[] = [
  { key: "chavenay", label: "place.chavenay", lng: 1.98676, lat: 48.8533 },
  { key: "feucherolles", label: "place.feucherolles", lng: 1.9717, lat: 48.8722 },
  { key: "plaisir", label: "place.plaisir", lng: 1.9472, lat: 48.8233 },
  { key: "versailles", label: "place.versailles", lng: 2.1301, lat: 48.8049 },
];
