// The marketplace end to end, in a real browser against a real heepr and the
// reference agent (@report-writer run by heepr-agent; scripts/demo.sh --e2e).
// A new customer hires the agent; its owner, in a second browser context,
// reviews and releases each delivery; the customer asks for a revision,
// accepts and reviews; the customer flags the order and support refunds it;
// an owner creates an agent with the wizard and downloads its skill package.
// Every main page is screenshotted and scanned with axe-core on the way.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { baseURL, describeViolations, launch, out, password, person, scan, shot } from "./browser";

let browser: Browser;
let customer: BrowserContext;
let owner: BrowserContext;
let c: Page; // the customer's tab
let o: Page; // the owner's tab
const stamp = Date.now().toString(36);
const customerEmail = `e2e-${stamp}@example.com`;
let orderPath = "";
let orderTitle = "";

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

// A failed step leaves a picture of every open tab under failures/.
afterEach(async (ctx) => {
  if (ctx.task.result?.state !== "fail") return;
  const name = ctx.task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  for (const [who, page] of [["customer", c], ["owner", o]] as const) {
    await page?.screenshot({ path: join(out, "failures", `${name}-${who}.png`), fullPage: true }).catch(() => {});
  }
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
    await c.getByRole("link", { name: "View the order" }).click();
    await c.waitForURL(/\/orders\//);
    orderPath = new URL(c.url()).pathname;
    orderTitle = (await c.getByRole("heading", { level: 1 }).textContent())!.trim();
    expect(orderTitle).not.toBe("");
    await look(c, "order-in-progress");
  });

  it("lets the owner, in a second browser, preview and release the delivery", async () => {
    await signIn(o, "owner@demo.heepr.dev");
    await o.goto("/owner");
    await o.getByRole("heading", { level: 1, name: "My agents" }).waitFor();
    await look(o, "owner-dashboard");
    await releaseNext(1);
  });

  it("lets the customer ask for a revision with the criteria checklist", async () => {
    await c.goto(orderPath);
    await c.getByRole("heading", { name: "Request a revision" }).waitFor();
    await c.getByRole("link", { name: /^Download / }).first().waitFor();
    await look(c, "order-delivered");
    const unmet = c.getByRole("group", { name: "Which acceptance criteria are not met?" }).getByRole("checkbox");
    await unmet.first().check();
    await c.getByLabel("What should change?").fill("Please add a section on composting in a small flat, with a list of what to avoid.");
    await c.getByRole("button", { name: "Request revision" }).click();
    await c.getByRole("heading", { name: "Request a revision" }).waitFor({ state: "detached" });
  });

  it("lets the owner release the revised delivery", async () => {
    await releaseNext(2);
  });

  it("lets the customer accept the delivery and review the agent", async () => {
    await c.goto(orderPath);
    await c.getByRole("button", { name: "Accept delivery" }).click();
    await c.getByRole("heading", { name: "Leave a review" }).waitFor();
    await c.getByLabel("Rating (1 to 5 stars)").fill("5");
    await c.getByLabel("Your review").fill("Clear, well organised report, and the revision was quick.");
    await c.getByRole("button", { name: "Post review" }).click();
    await c.getByRole("heading", { name: "Your review" }).waitFor();
    await look(c, "order-completed");
  });

  it("lets the customer flag the order and support refund it", async () => {
    await c.getByLabel("Reason").selectOption({ label: "Policy violation" });
    await c.getByLabel("Details for support").fill("The report copies a copyrighted article word for word.");
    await c.getByRole("button", { name: "Flag order" }).click();
    await c.getByText("Order flagged: heepr support will look at it.").waitFor();

    const staff = await person(browser);
    const s = await staff.newPage();
    await signIn(s, "support@demo.heepr.dev");
    await s.goto("/support");
    await s.getByRole("heading", { level: 1, name: "Cases" }).waitFor();
    await s.getByRole("link", { name: /^Flag: policy violation/i }).first().waitFor();
    await look(s, "support-cases");
    await s.getByRole("link", { name: /^Flag: policy violation/i }).first().click();
    await s.getByRole("heading", { name: "Resolve" }).waitFor();
    await s.getByRole("radio", { name: "Refund" }).check();
    const source = s.getByRole("radio", { name: /^Claw back from the owner/ });
    if (await source.count()) await source.check(); // the order was paid out: take it back from the owner
    await s.getByLabel("Note").fill("Confirmed: the report reuses an article without permission. Full refund.");
    await look(s, "support-case");
    await s.getByRole("button", { name: "Resolve case" }).click();
    await s.getByText("The case is resolved.").waitFor();
    await s.getByRole("heading", { name: "Resolution" }).waitFor();
    await look(s, "support-case-resolved");
    await s.goto("/support/audit");
    await s.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
    await look(s, "support-audit");
    await staff.close();

    await c.goto("/account");
    await c.getByRole("heading", { level: 1, name: "Account" }).waitFor();
    await c.getByRole("cell", { name: /refund/i }).first().waitFor();
    await look(c, "account");
    await c.goto("/notifications");
    await c.getByRole("heading", { level: 1, name: "Notifications" }).waitFor();
    await look(c, "notifications");
  });

  it("lets an owner create an agent with the wizard and download its skill package", async () => {
    const handle = `e2e-${stamp}`;
    await o.goto("/owner/agents/new");
    await o.getByLabel("Name").fill("E2E Proofreader");
    await o.getByLabel("Handle").fill(handle);
    await o.getByLabel("Specialty").fill("Proofreads English documents");
    await o.getByLabel("Description").fill("Finds spelling, grammar and style problems and returns a marked-up copy.");
    await o.getByRole("group", { name: "Categories" }).getByRole("checkbox", { name: "writing" }).check();
    await look(o, "wizard-basics");
    await o.getByRole("button", { name: "Next" }).click();
    await o.getByLabel("Skills").fill("proofreading, grammar");
    const tier = o.getByRole("group", { name: "Tier 1" });
    await tier.getByLabel("Tier name").fill("Basic");
    await tier.getByLabel("Price (points)").fill("60");
    await tier.getByLabel("Delivery days").fill("2");
    await tier.getByLabel("Free revisions").fill("1");
    await tier.getByLabel("What is included").fill("Up to 2,000 words proofread.");
    await o.getByRole("button", { name: "Next" }).click();
    await o.getByRole("button", { name: "Next" }).click();
    await o.getByRole("heading", { name: /Review and create/ }).waitFor();
    await o.getByRole("button", { name: "Create agent" }).click();
    await o.getByRole("heading", { level: 1, name: `@${handle} is created` }).waitFor();
    await o.getByRole("button", { name: "Copy key" }).waitFor();
    await look(o, "wizard-created");
    const link = o.getByRole("link", { name: "Download skill package" });
    await link.waitFor({ timeout: 60_000 }); // the package renders in a job
    const [download] = await Promise.all([o.waitForEvent("download"), link.click()]);
    const zip = await readFile((await download.path())!);
    expect(zip.subarray(0, 2).toString()).toBe("PK");
    expect(zip.includes("skill.json")).toBe(true);
    await o.getByRole("link", { name: "Open the agent's settings" }).click();
    await o.getByRole("heading", { level: 1, name: `Settings for @${handle}` }).waitFor();
    await look(o, "agent-settings");
  });

  it("works at phone width", async () => {
    const phone = await person(browser, { phone: true });
    const p = await phone.newPage();
    await signIn(p, customerEmail);
    for (const [path, name] of [["/", "phone-browse"], [orderPath, "phone-order"], ["/account", "phone-account"]] as const) {
      await p.goto(path);
      await p.getByRole("heading", { level: 1 }).waitFor();
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${name} is wider than the phone`).toBeLessThanOrEqual(0);
      await look(p, name);
    }
    await phone.close();
  });
});

// releaseNext waits, in the owner's tab, for version n of the order's delivery
// to reach the review queue, previews it and releases it to the customer.
async function releaseNext(n: number) {
  const card = o.getByRole("article", { name: orderTitle });
  await expect
    .poll(
      async () => {
        await o.goto("/owner/deliveries");
        await o.getByRole("heading", { level: 1, name: "Deliveries to review" }).waitFor();
        await o.waitForLoadState("networkidle");
        return (await card.count()) > 0 && (await card.getByText(new RegExp(`[Dd]elivery ${n}\\b|version ${n}\\b`)).count()) > 0;
      },
      { timeout: 90_000, interval: 1000 },
    )
    .toBe(true);
  await card.getByRole("link", { name: /^Download / }).first().waitFor();
  await look(o, `owner-delivery-${n}`);
  await card.getByRole("button", { name: "Release to customer" }).click();
  await o.getByRole("status").getByText(new RegExp(`^Released delivery ${n} of`)).waitFor();
}
