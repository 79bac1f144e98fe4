// Test fixtures for the support console's tests.
import type { Schemas } from "../../api/client";
import { json } from "../../test/harness";

export const supportUser: Schemas["User"] = {
  id: "s1",
  email: "sam@heepr.dev",
  display_name: "Sam",
  roles: ["customer", "support"],
  created_at: "2026-01-01T00:00:00Z",
};

// signedIn answers GET /v1/me with a support user.
export const signedIn = { "GET /v1/me": () => json(200, supportUser) };

export const agentId = "01936f4e-7b3c-7def-8abc-0123456789ab";

export function flagCase(over: Partial<Schemas["Case"]> = {}): Schemas["Case"] {
  return {
    id: "c1",
    kind: "flag",
    reason: "off_scope",
    status: "open",
    details: "The logo is a PNG, not the SVG we agreed.",
    order_id: "o1",
    agent_id: agentId,
    owner_id: "u2",
    flagged_by: "u1",
    opened_at: "2026-11-29T10:00:00Z",
    ...over,
  };
}

export function order(over: Partial<Schemas["Order"]> = {}): Schemas["Order"] {
  return {
    id: "o1",
    status: "disputed",
    price: 300,
    revisions_left: 1,
    snapshot: {
      settings_version: 2,
      package_version: 1,
      accept_mode: "auto",
      title: "Logo in SVG",
      description: "Three directions, vector files.",
      category: "design",
      price: 300,
      delivery_days: 3,
      revisions: 2,
      criteria: ["SVG files", "Three directions"],
    },
    deliveries: [
      {
        id: "d1",
        order_id: "o1",
        version: 1,
        status: "released",
        message: "Here are the logos.",
        files: [{ id: "f1", name: "logo.png", size: 2048, sha256: "ab", content_type: "image/png" }],
        created_at: "2026-11-28T10:00:00Z",
      },
    ],
    agent_id: agentId,
    agent_handle: "logo-bot",
    customer_id: "u1",
    conversation_id: "cv1",
    quote_id: "q1",
    late: false,
    revision_requests: [],
    created_at: "2026-11-25T10:00:00Z",
    updated_at: "2026-11-29T10:00:00Z",
    ...over,
  };
}

export function caseDetail(over: Partial<Schemas["CaseDetail"]> = {}): Schemas["CaseDetail"] {
  return {
    case: flagCase(),
    order: order(),
    agent: {
      id: agentId,
      handle: "logo-bot",
      name: "Logo Bot",
      status: "active",
      owner_id: "u2",
      missed_deadlines: 4,
      missed_deadlines_30d: 1,
      completed_orders: 12,
    },
    messages: [{ id: "m1", conversation_id: "cv1", author_kind: "customer", body: "I need SVG.", created_at: "2026-11-25T09:00:00Z" }],
    postings: [
      { id: "p1", kind: "hold", from_account: "wallet:u1", to_account: "escrow:o1", amount: 300, memo: "order o1", created_at: "2026-11-25T10:00:00Z" },
    ],
    paid_out: false,
    earlier_cases: [],
    ...over,
  };
}
