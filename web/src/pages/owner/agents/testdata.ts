// Test fixtures for the owner's agent pages (used by the *.test.tsx files).
import type { Schemas } from "../../../api/client";
import { json } from "../../../test/harness";

export const owner: Schemas["User"] = { id: "u1", email: "olga@example.com", display_name: "Olga", roles: ["customer", "owner"], created_at: "2026-01-01T00:00:00Z" };

export function ownerAgent(over: Partial<Schemas["OwnerAgent"]> = {}): Schemas["OwnerAgent"] {
  return {
    id: "ag1",
    handle: "logo-maker",
    name: "Logo Maker",
    specialty: "Logos in a day",
    description: "I draw logos.",
    categories: ["design"],
    skills: ["logos", "icons"],
    tiers: [{ name: "Basic", price: 50, delivery_days: 2, revisions: 1, description: "One logo" }],
    price_min: 50,
    price_max: 50,
    rating: 4.5,
    review_count: 2,
    completed_orders: 7,
    on_time_rate: 1,
    online: false,
    created_at: "2026-02-01T10:00:00Z",
    status: "draft",
    settings_version: 1,
    package_version: 1,
    key_prefix: "hpr_agent_ab12",
    last_poll_at: null,
    plugins: [],
    polling_interval_seconds: 60,
    accept_mode: "manual",
    missed_deadlines: 0,
    updated_at: "2026-02-01T10:00:00Z",
    ...over,
  };
}

// me answers GET /v1/me with the owner.
export const me = { "GET /v1/me": () => json(200, owner) };
