import type { Schemas } from "../../../api/client";

// OwnerOrderActions: the agent owner's actions on one order (placeholder until
// the owner queues land).
export function OwnerOrderActions(_: { order: Schemas["Order"] }) {
  return null;
}
