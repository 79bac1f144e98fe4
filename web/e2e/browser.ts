// The browser side of the end-to-end tests: Debian's chromium driven by
// playwright-core (never a downloaded browser), a screenshot of each main
// page, and an axe-core scan that fails on serious or critical violations.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const baseURL = process.env.HEEPR_URL ?? "http://127.0.0.1:18090";
export const out = resolve(process.env.E2E_OUT ?? "test-output/e2e");
export const password = process.env.DEMO_PASSWORD ?? "heepr-demo-2026";

// The flags this machine needs: no sandbox as root, and nothing that reaches
// for the network (it is closed; chromium's background fetches are refused).
const flags = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launch(): Promise<Browser> {
  mkdirSync(join(out, "screenshots"), { recursive: true });
  mkdirSync(join(out, "axe"), { recursive: true });
  mkdirSync(join(out, "failures"), { recursive: true });
  // Playwright starts chromium headless with a fresh, empty profile directory.
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: flags });
}

// person is one user's browser context (own cookies), at phone or desktop size.
export async function person(browser: Browser, opts: { phone?: boolean } = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext({
    baseURL,
    acceptDownloads: true,
    viewport: opts.phone ? { width: 390, height: 844 } : { width: 1280, height: 900 },
    isMobile: opts.phone,
    hasTouch: opts.phone,
  });
  ctx.setDefaultTimeout(30_000);
  return ctx;
}

let shots = 0;

// shot saves a full-page screenshot as NN-name.png under the test output.
export async function shot(page: Page, name: string): Promise<void> {
  shots++;
  await page.screenshot({ path: join(out, "screenshots", `${String(shots).padStart(2, "0")}-${name}.png`), fullPage: true });
}

const axeSource = (() => {
  const require = createRequire(import.meta.url);
  return require("axe-core").source as string;
})();

type Violation = { id: string; impact: string | null; help: string; nodes: { target: string[]; failureSummary?: string }[] };

// scan runs axe-core on the page as it is and returns the serious and critical
// violations (all of them are written to axe/name.json).
export async function scan(page: Page, name: string): Promise<Violation[]> {
  // Evaluated over the DevTools protocol, so the app's CSP stays in force.
  await page.evaluate(axeSource);
  const result = (await page.evaluate(async () => {
    // @ts-expect-error axe is injected above
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations;
  })) as Violation[];
  writeFileSync(join(out, "axe", `${name}.json`), JSON.stringify(result, null, 2));
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

// describeViolations makes a failed scan readable in the test output.
export function describeViolations(vs: Violation[]): string {
  return vs.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ") + (n.failureSummary ? ` — ${n.failureSummary}` : "")).join("\n  ")}`).join("\n");
}
