/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The built app is embedded in the heepr binary (web/embed.go) and served at /;
// in development `npm run dev` proxies the API to a heepr on :8080.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: {
    proxy: { "/v1": "http://127.0.0.1:8080", "/openapi.yaml": "http://127.0.0.1:8080", "/docs": "http://127.0.0.1:8080" },
  },
  test: { environment: "jsdom" },
});
