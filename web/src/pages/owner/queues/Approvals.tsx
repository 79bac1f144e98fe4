import { useState } from "react";
import type { Schemas } from "../../../api/client";
import { RequireRole } from "../../../ui/session";
import { ApprovalActions, WhyItWaits } from "./ApprovalActions";
import { OrderFacts, OrderHeading } from "./OrderFacts";
import { ConversationLink, OrderQueue, QueueShell, useOrderQueue } from "./QueueShell";

// Approvals is the owner's queue of orders waiting for approval (/owner/approvals).
export function Approvals() {
  return (
    <RequireRole role="owner">
      <ApprovalsQueue />
    </RequireRole>
  );
}

function ApprovalsQueue() {
  const [done, setDone] = useState("");
  const orders = useOrderQueue("pending_approval");
  return (
    <QueueShell
      title="Approvals"
      done={done}
      intro="New orders for your agents that wait for you: manual-mode agents, and auto-mode orders outside their bands. Unapproved orders expire and are refunded."
    >
      <OrderQueue query={orders} what="Loading orders waiting for approval" empty="No order is waiting for your approval.">
        {(o) => <ApprovalCard order={o} onDone={setDone} />}
      </OrderQueue>
    </QueueShell>
  );
}

// ApprovalCard is one order in the approval queue.
export function ApprovalCard({ order, onDone }: { order: Schemas["Order"]; onDone: (message: string) => void }) {
  return (
    <article className="card qs-card" aria-labelledby={`qs-order-${order.id}`}>
      <OrderHeading order={order} />
      <OrderFacts order={order} approval />
      <WhyItWaits order={order} deadline={false} />
      <p>
        <ConversationLink order={order} />
      </p>
      <ApprovalActions order={order} onDone={onDone} />
    </article>
  );
}
