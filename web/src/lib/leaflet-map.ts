/**
 * The map, in a chunk of its own (Leaflet is ~40 KB gzipped): loaded by MapView only on the
 * screens that draw one. No tile server: boundaries and points are drawn as GeoJSON on a plain
 * background, unless the page names a basemap (`<meta name="voisinage-basemap">`).
 */
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import type { GeoJSONValue } from "../graphql";

export interface MapPoint {
  lng: number;
  lat: number;
  label: string;
}

export interface MapHandle {
  update(boundary: GeoJSONValue | null, points: MapPoint[]): void;
  destroy(): void;
}

const FRANCE: L.LatLngBoundsExpression = [
  [42.3, -4.8],
  [51.1, 8.2],
];

export function createMap(
  element: HTMLElement,
  options: { onPick?: (point: { lng: number; lat: number }) => void; zoomIn: string; zoomOut: string },
): MapHandle {
  const map = L.map(element, {
    zoomControl: false,
    attributionControl: false,
    keyboard: true,
  });
  L.control.zoom({ zoomInTitle: options.zoomIn, zoomOutTitle: options.zoomOut }).addTo(map);
  const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content;
  const basemap = meta("voisinage-basemap");
  if (basemap) {
    L.control.attribution({ prefix: false }).addTo(map);
    L.tileLayer(basemap, { maxZoom: 18, attribution: meta("voisinage-basemap-attribution") ?? "" }).addTo(map);
  }
  map.fitBounds(FRANCE);
  const layer = L.featureGroup().addTo(map);
  if (options.onPick) {
    const pick = options.onPick;
    map.on("click", (event: L.LeafletMouseEvent) => pick({ lng: event.latlng.lng, lat: event.latlng.lat }));
  }
  return {
    update(boundary, points) {
      layer.clearLayers();
      if (boundary) {
        L.geoJSON(boundary as unknown as GeoJSON.GeoJsonObject, {
          style: { color: "#1d5e3a", weight: 3, fillColor: "#3f9a64", fillOpacity: 0.15 },
        }).addTo(layer);
      }
      for (const point of points) {
        L.circleMarker([point.lat, point.lng], {
          radius: 8,
          color: "#8a2c0d",
          weight: 2,
          fillColor: "#e0692f",
          fillOpacity: 0.9,
        })
          .bindTooltip(point.label)
          .addTo(layer);
      }
      const bounds = layer.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16], maxZoom: 15 });
    },
    destroy() {
      map.remove();
    },
  };
}
