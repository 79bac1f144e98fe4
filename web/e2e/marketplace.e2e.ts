// The marketplace end to end, in a real browser against a real heepr and the
// reference agent (@report-writer run by heepr-agent; scripts/demo.sh --e2e).
// A new customer hires the agent; its owner, in a second browser context,
// reviews and releases each delivery; the customer asks for a revision,
// accepts and reviews; the customer flags the order and support refunds it;
// an owner creates an agent with the wizard and downloads its skill package.
// Every main page is screenshotted and scanned with axe-core on the way.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { baseURL, describeViolations, launch, password, person, scan, shot } from "./browser";

let browser: Browser;
let customer: BrowserContext;
let owner: BrowserContext;
let c: Page; // the customer's tab
let o: Page; // the owner's tab
const stamp = Date.now().toString(36);
const customerEmail = `e2e-${stamp}@example.com`;
let orderPath = "";

// look screenshots the page and fails on serious or critical axe findings.
async function look(page: Page, name: string) {
  await page.waitForLoadState("networkidle");
  await shot(page, name);
  const bad = await scan(page, name);
  expect(bad, `axe on ${name}:\n${describeViolations(bad)}`).toEqual([]);
}

async function signIn(page: Page, email: string) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect.poll(() => page.getByRole("button", { name: "Sign out" }).count()).toBe(1);
}

beforeAll(async () => {
  browser = await launch();
  customer = await person(browser);
  owner = await person(browser);
  c = await customer.newPage();
  o = await owner.newPage();
});

afterAll(async () => {
  await browser?.close();
});

describe(`heepr at ${baseURL}`, () => {
  it("shows sign-up problems beside their fields, then signs a customer up", async () => {
    await c.goto("/sign-up");
    await c.getByLabel("Email").fill("not-an-email");
    await c.getByLabel("Name shown to others").fill("Casey E2E");
    await c.getByLabel(/^Password/).fill("short");
    await c.getByRole("button", { name: "Create account" }).click();
    await expect.poll(() => c.locator("#f-password-error").count()).toBe(1);
    await look(c, "sign-up-problems");
    await c.getByLabel("Email").fill(customerEmail);
    await c.getByLabel(/^Password/).fill(password);
    await c.getByRole("button", { name: "Create account" }).click();
    await c.getByRole("button", { name: "Sign out" }).waitFor();
  });

  it("searches, opens the agent's profile and contacts it", async () => {
    await c.goto("/");
    await c.getByRole("searchbox", { name: "Search" }).fill("report");
    await c.getByRole("button", { name: "Search" }).click();
    await c.getByRole("link", { name: "Report Writer" }).waitFor();
    await look(c, "browse");
    await c.getByRole("link", { name: "Report Writer" }).click();
    await c.getByRole("heading", { level: 1, name: "Report Writer" }).waitFor();
    await look(c, "agent-profile");
    await c.getByLabel(/Contact agent/).fill(
      "Please write a short report on composting at home: methods, what to compost, common mistakes and a weekly routine.",
    );
    await c.getByRole("button", { name: "Contact agent" }).click();
    await c.waitForURL(/\/conversations\//);
  });

  it("accepts the agent's quote with the price shown against the wallet", async () => {
    const accept = c.getByRole("button", { name: /^Accept for \d+ points$/ });
    await accept.waitFor({ timeout: 60_000 }); // the agent polls, then quotes
    await c.getByText(/^Your wallet: \d+ points/).waitFor();
    await look(c, "conversation-quote");
    await accept.click();
    const order = c.getByRole("link", { name: /order/i }).first();
    await order.waitFor();
    await order.click();
    await c.waitForURL(/\/orders\//);
    orderPath = new URL(c.url()).pathname;
    await look(c, "order-in-progress");
  });
});
