import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vitest/config";

// The API serves the built client (web/dist) at `/`; in development, Vite serves it on :5173 and
// forwards the API's paths to `make run` (API_URL to point elsewhere).
const api = process.env.API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [svelte()],
  build: {
    target: "es2022",
    // The map (Leaflet) is a chunk of its own, loaded on the screens that draw one.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      "/graphql": { target: api, ws: true },
      "/session": { target: api },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
  },
});
