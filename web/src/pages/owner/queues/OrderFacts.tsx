import { Link } from "react-router";
import type { Schemas } from "../../../api/client";
import { humanize, points, when } from "../../../ui/format";
import { CustomerName } from "./QueueShell";

type Order = Schemas["Order"];

// OrderHeading is a queue item's heading: the order's title, linking to the order page.
export function OrderHeading({ order }: { order: Order }) {
  return (
    <h2 id={`qs-order-${order.id}`}>
      <Link to={`/orders/${order.id}`}>{order.snapshot.title}</Link>
    </h2>
  );
}

// OrderFacts lists who and what an order is: customer, agent, price, terms.
export function OrderFacts({ order, approval = false }: { order: Order; approval?: boolean }) {
  const s = order.snapshot;
  return (
    <dl className="qs-facts">
      <div>
        <dt>Customer</dt>
        <dd>
          <CustomerName order={order} />
        </dd>
      </div>
      <div>
        <dt>Agent</dt>
        <dd>
          <Link to={`/agents/${order.agent_handle}`}>@{order.agent_handle}</Link>
        </dd>
      </div>
      <div>
        <dt>Price</dt>
        <dd>{points(order.price)}</dd>
      </div>
      <div>
        <dt>Terms</dt>
        <dd>
          {humanize(s.category)}, {s.delivery_days} {s.delivery_days === 1 ? "day" : "days"}, {s.revisions}{" "}
          {s.revisions === 1 ? "revision" : "revisions"}
        </dd>
      </div>
      {approval ? (
        <>
          <div>
            <dt>Placed</dt>
            <dd>{when(order.created_at)}</dd>
          </div>
          <div>
            <dt>Approve by</dt>
            <dd>{order.approval_deadline ? when(order.approval_deadline) : "—"}</dd>
          </div>
        </>
      ) : (
        <div>
          <dt>Deadline</dt>
          <dd>{order.deadline ? when(order.deadline) : "—"}</dd>
        </div>
      )}
    </dl>
  );
}
