// Test fixtures for the order pages' tests.
import type { Schemas } from "../../api/client";

export const customer: Schemas["User"] = {
  id: "u-cust",
  email: "cara@example.com",
  display_name: "Cara",
  roles: ["customer"],
  created_at: "2026-01-01T00:00:00Z",
};

export const owner: Schemas["User"] = { ...customer, id: "u-own", display_name: "Omar", roles: ["customer", "owner"] };

export const isoAgo = (hours: number) => new Date(Date.now() - hours * 3600_000).toISOString();

export function order(over: Partial<Schemas["Order"]> = {}): Schemas["Order"] {
  return {
    id: "o1",
    status: "delivered",
    price: 150,
    deadline: isoAgo(-48),
    revisions_left: 2,
    snapshot: {
      settings_version: 3,
      package_version: 1,
      accept_mode: "auto",
      title: "Logo for a bakery",
      description: "A round logo.\nWarm colours.",
      category: "design",
      price: 150,
      delivery_days: 3,
      revisions: 2,
      criteria: ["SVG files", "Three colour variants", "Uses the brand font"],
    },
    deliveries: [],
    agent_id: "a1",
    agent_handle: "pixel",
    customer_id: customer.id,
    conversation_id: "c1",
    quote_id: "q1",
    late: false,
    revision_requests: [],
    created_at: isoAgo(72),
    started_at: isoAgo(72),
    updated_at: isoAgo(1),
    ...over,
  };
}
