import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { fakeApi, json, problem, renderAt } from "../../../test/harness";
import { CreateAgentPage } from "./CreateAgent";
import { me, ownerAgent } from "./testdata";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const type = (label: string | RegExp, value: string, scope: HTMLElement = document.body) =>
  fireEvent.change(within(scope).getByLabelText(label), { target: { value } });
const click = (name: string) => fireEvent.click(screen.getByRole("button", { name }));
const heading = () => screen.getByRole("heading", { level: 2 }).textContent;

async function open(routes: Parameters<typeof fakeApi>[0] = {}) {
  const calls = fakeApi({ ...me, ...routes });
  renderAt(<CreateAgentPage />, { url: "/owner/agents/new", path: "/owner/agents/new" });
  await screen.findByRole("heading", { name: "Create an agent" });
  return calls;
}

// fillAll goes through the three steps with valid answers and stops on review.
function fillAll() {
  type("Name", "Logo Maker");
  type("Handle", " logo-maker ");
  type("Specialty", "Logos in a day");
  type("Description", "I draw logos.");
  fireEvent.click(screen.getByRole("checkbox", { name: "design" }));
  click("Next");
  type("Skills", "logos, icons,, ");
  const tier1 = screen.getByRole("group", { name: "Tier 1" });
  type("Tier name", "Basic", tier1);
  type("Price (points)", "50", tier1);
  click("Add a tier");
  const tier2 = screen.getByRole("group", { name: "Tier 2" });
  type("Tier name", "Pro", tier2);
  type("Price (points)", "120", tier2);
  type("Delivery days", "5", tier2);
  click("Next");
  type("Polling interval (seconds)", "30");
  fireEvent.click(screen.getByRole("radio", { name: /Automatic/ }));
  type("Highest price (points)", "100");
  type("Plugins", "figma");
  click("Next");
}

describe("CreateAgent wizard", { timeout: 20_000 }, () => {
  it("shows one step at a time and keeps what was typed between steps", async () => {
    await open();
    const current = () => screen.getByRole("navigation", { name: "Wizard steps" }).querySelector('[aria-current="step"]')?.textContent;
    expect(heading()).toBe("Step 1 of 4: Basics");
    expect(current()).toContain("Basics");
    expect(screen.queryByRole("button", { name: "Back" })).toBeNull();
    type("Name", "Logo Maker");
    type("Handle", "logo-maker");
    fireEvent.click(screen.getByRole("checkbox", { name: "design" }));
    click("Next");
    expect(heading()).toBe("Step 2 of 4: Skills and tiers");
    expect(current()).toContain("Skills and tiers");
    expect(screen.queryByLabelText("Handle")).toBeNull();
    type("Price (points)", "75");
    click("Next");
    expect(heading()).toBe("Step 3 of 4: Settings");
    expect(document.activeElement?.textContent).toBe("Step 3 of 4: Settings");
    click("Back");
    expect((screen.getByLabelText("Price (points)") as HTMLInputElement).value).toBe("75");
    click("Back");
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("Logo Maker");
    expect((screen.getByLabelText("Handle") as HTMLInputElement).value).toBe("logo-maker");
    expect((screen.getByRole("checkbox", { name: "design" }) as HTMLInputElement).checked).toBe(true);
  });

  it("sends the whole agent on Create agent", async () => {
    const calls = await open({ "POST /v1/agents": () => json(201, { agent: ownerAgent(), api_key: "hpr_agent_secret" }) });
    fillAll();
    expect(heading()).toBe("Step 4 of 4: Review and create");
    expect(screen.getByText("@logo-maker")).toBeTruthy();
    click("Create agent");
    await screen.findByRole("heading", { level: 1, name: "@logo-maker is created" });
    const post = calls.find((c) => c.method === "POST" && c.path === "/v1/agents")!;
    expect(JSON.parse(post.body)).toEqual({
      handle: "logo-maker",
      name: "Logo Maker",
      specialty: "Logos in a day",
      description: "I draw logos.",
      categories: ["design"],
      skills: ["logos", "icons"],
      plugins: ["figma"],
      tiers: [
        { name: "Basic", price: 50, delivery_days: 3, revisions: 1, description: "" },
        { name: "Pro", price: 120, delivery_days: 5, revisions: 1, description: "" },
      ],
      polling_interval_seconds: 30,
      accept_mode: "auto",
      auto_bands: { min_price: 0, max_price: 100, categories: [], max_revisions: 2, max_active_orders: 3 },
    });
  });

  it("jumps back to the tiers step and shows a problem on tiers[0].price beside that field", async () => {
    await open({
      "POST /v1/agents": () => problem(422, "validation", "tiers[0].price: must be 1 to 1000000 points", [{ field: "tiers[0].price", detail: "must be 1 to 1000000 points" }]),
    });
    fillAll();
    click("Create agent");
    await waitFor(() => expect(heading()).toBe("Step 2 of 4: Skills and tiers"));
    const price = within(screen.getByRole("group", { name: "Tier 1" })).getByLabelText("Price (points)");
    expect(price.getAttribute("aria-invalid")).toBe("true");
    const described = price.getAttribute("aria-describedby")!.split(" ").map((id) => document.getElementById(id)?.textContent);
    expect(described).toContain("must be 1 to 1000000 points");
    expect(within(screen.getByRole("group", { name: "Tier 2" })).getByLabelText("Price (points)").getAttribute("aria-invalid")).toBeNull();
    expect(screen.getByRole("alert").textContent).toMatch(/not created/);
    // The review step says which step still has problems.
    click("Next");
    click("Next");
    expect(screen.getByText(/This step has problems/)).toBeTruthy();
  });

  it("maps the schema check's paths (tiers.1.price) and a taken handle onto the fields, on the first step holding one", async () => {
    let answer = 0;
    await open({
      "POST /v1/agents": () =>
        answer++ === 0
          ? problem(400, "validation", "the request has invalid fields", [
              { field: "tiers.1.price", detail: "number must be at least 1" },
              { field: "polling_interval_seconds", detail: "number must be at least 15" },
            ])
          : problem(409, "handle-taken", "the handle logo-maker is taken"),
    });
    fillAll();
    click("Create agent");
    await waitFor(() => expect(heading()).toBe("Step 2 of 4: Skills and tiers"));
    expect(within(screen.getByRole("group", { name: "Tier 2" })).getByLabelText("Price (points)").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("number must be at least 1")).toBeTruthy();
    click("Next");
    expect(screen.getByText("number must be at least 15")).toBeTruthy();
    click("Next");
    click("Create agent");
    await waitFor(() => expect(heading()).toBe("Step 1 of 4: Basics"));
    expect(screen.getByLabelText("Handle").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("the handle logo-maker is taken")).toBeTruthy();
  });

  it("refuses a price that is not a number without calling the API", async () => {
    const calls = await open();
    type("Name", "Logo Maker");
    click("Next");
    type("Price (points)", "");
    click("Next");
    click("Next");
    click("Create agent");
    expect(heading()).toBe("Step 2 of 4: Skills and tiers");
    expect(screen.getByText("enter a whole number")).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
  });

  it("shows a problem that names no field on the review step", async () => {
    await open({ "POST /v1/agents": () => problem(403, "forbidden", "only owners create agents") });
    fillAll();
    click("Create agent");
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("only owners create agents"));
    expect(heading()).toBe("Step 4 of 4: Review and create");
  });
});

describe("a created agent", { timeout: 20_000 }, () => {
  it("shows the key once with Copy key, and the skill package once it is rendered", async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    let rendered = false;
    const calls = await open({
      "POST /v1/agents": () => json(201, { agent: ownerAgent({ package_version: 0 }), api_key: "hpr_agent_THEKEY" }),
      "GET /v1/me/agents": () => json(200, { items: [ownerAgent({ package_version: rendered ? 1 : 0 })] }),
    });
    fillAll();
    click("Create agent");
    await screen.findByText("hpr_agent_THEKEY");
    expect(screen.getByText(/Shown only once/)).toBeTruthy();
    // Still rendering: say so and offer to check again.
    expect(screen.queryByRole("link", { name: "Download skill package" })).toBeNull();
    expect(screen.getByText(/still being prepared/)).toBeTruthy();
    rendered = true;
    await waitFor(() => expect((screen.getByRole("button", { name: "Check again" }) as HTMLButtonElement).disabled).toBe(false));
    click("Check again");
    const link = await screen.findByRole("link", { name: "Download skill package" });
    expect(link.getAttribute("href")).toBe("/v1/agents/ag1/skill-package");
    expect(calls.filter((c) => c.path === "/v1/me/agents").length).toBeGreaterThan(0);

    click("Copy key");
    await waitFor(() => expect(writeText).toHaveBeenCalledWith("hpr_agent_THEKEY"));
    expect(await screen.findByText("Copied to the clipboard.")).toBeTruthy();
    click("I have saved it");
    expect(screen.queryByText("hpr_agent_THEKEY")).toBeNull();
    expect(screen.getByText(/cannot be shown again/)).toBeTruthy();
    expect(screen.getByRole("link", { name: "Open the agent's settings" }).getAttribute("href")).toBe("/owner/agents/ag1");
  });
});
