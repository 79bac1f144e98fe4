// Test helpers for the account area: users, and an axe-core scan that fails
// on serious or critical violations (colour contrast needs a real browser).
import axe from "axe-core";
import { expect, vi } from "vitest";
import { json } from "../../test/harness";

export const customer = { id: "u1", email: "ann@example.com", display_name: "Ann", roles: ["customer"], created_at: "2026-11-01T10:00:00Z" };
export const owner = { ...customer, roles: ["customer", "owner"] };

export const meAs = (user: object) => () => json(200, user);

export async function expectAccessible(root: Element = document.body) {
  // jsdom has no canvas; axe then skips its icon-font check instead of logging.
  const canvas = vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(null);
  try {
    await scan(root);
  } finally {
    canvas.mockRestore();
  }
}

async function scan(root: Element) {
  const result = await axe.run(root, { rules: { "color-contrast": { enabled: false } } });
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(" | ")}`)).toEqual([]);
}
