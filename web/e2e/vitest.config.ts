/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// The browser tests (make e2e): Playwright driving Debian's chromium against a
// running heepr and reference agent (scripts/demo.sh --e2e starts both and
// sets HEEPR_URL). One file at a time, in order: they share one server.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 60_000,
    sequence: { concurrent: false },
  },
});
