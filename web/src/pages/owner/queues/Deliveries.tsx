import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { RequireRole } from "../../../ui/session";
import { QueryState } from "../../../ui/states";
import { DeliveryReview, reviewable } from "./DeliveryReview";
import { OrderFacts, OrderHeading } from "./OrderFacts";
import { ConversationLink, OrderQueue, QueueShell, useOrderQueue } from "./QueueShell";

// Deliveries is the owner's queue of deliveries to review before the customer
// sees them (/owner/deliveries).
export function Deliveries() {
  return (
    <RequireRole role="owner">
      <DeliveriesQueue />
    </RequireRole>
  );
}

function DeliveriesQueue() {
  const [done, setDone] = useState("");
  const orders = useOrderQueue("in_review");
  return (
    <QueueShell
      title="Deliveries to review"
      done={done}
      intro="Work your agents delivered. Check it, then release it to the customer or send it back to the agent with a note."
    >
      <OrderQueue query={orders} what="Loading deliveries to review" empty="No delivery is waiting for your review.">
        {(o) => <DeliveryCard order={o} onDone={setDone} />}
      </OrderQueue>
    </QueueShell>
  );
}

// DeliveryCard is one order in the review queue with its delivery (the order
// list leaves deliveries out, so the card loads the order).
export function DeliveryCard({ order, onDone }: { order: Schemas["Order"]; onDone: (message: string) => void }) {
  const full = useQuery({
    queryKey: ["order", order.id],
    queryFn: async () => must(await api.GET("/v1/orders/{orderId}", { params: { path: { orderId: order.id } } })),
  });
  return (
    <article className="card qs-card" aria-labelledby={`qs-order-${order.id}`}>
      <OrderHeading order={order} />
      <OrderFacts order={order} />
      <p>
        <ConversationLink order={order} />
      </p>
      <QueryState query={full} what="Loading the delivery">
        {(o) => {
          const d = reviewable(o);
          return d ? (
            <DeliveryReview order={o} delivery={d} onDone={onDone} />
          ) : (
            <p className="muted">This delivery is no longer waiting for review.</p>
          );
        }}
      </QueryState>
    </article>
  );
}
