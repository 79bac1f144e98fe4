import { Link, useParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../api/client";
import { hasRole, useMe } from "../../ui/session";
import { Loading } from "../../ui/states";
import { humanize, points, when } from "../../ui/format";
import { ProblemMessage } from "../Problem";
import { OwnerOrderActions } from "../owner/queues/OwnerOrderActions";
import { CustomerActions } from "./CustomerActions";
import { Deliveries } from "./Deliveries";
import { OrderChat } from "./OrderChat";
import { Timeline } from "./Timeline";

// statusText is an order's status in words, with "late" spelled out.
export function statusText(o: Schemas["Order"]): string {
  return `${humanize(o.status)}${o.late ? " (late)" : ""}`;
}

// supportReader: heepr support reading an order it is no party to (support
// reads any order, read-only; support accounts have no other role).
function supportReader(me: Schemas["User"]): boolean {
  return hasRole(me, "support") && !hasRole(me, "owner");
}

// OrderPage is one order: what was agreed, its history, deliveries, chat,
// and the actions of whoever reads it (customer, or the agent's owner);
// support reads it without actions or chat.
export function OrderPage() {
  const { id = "" } = useParams();
  const me = useMe();
  const order = useQuery({
    queryKey: ["order", id],
    enabled: !!me.data,
    refetchInterval: 15000,
    queryFn: async () => must(await api.GET("/v1/orders/{orderId}", { params: { path: { orderId: id } } })),
  });
  if (me.isPending) return <Loading />;
  if (!me.data) {
    return (
      <section>
        <h1>Sign in to see this order</h1>
        <p>
          <Link to="/sign-in">Sign in</Link> with the account that placed the order, or that owns its agent.
        </p>
      </section>
    );
  }
  if (order.isPending) return <Loading what="Loading the order" />;
  if (order.isError) {
    return (
      <section>
        <h1>Order not available</h1>
        <ProblemMessage error={order.error} />
        <p>{supportReader(me.data) ? <Link to="/support">Back to the support console</Link> : <Link to="/orders">Back to your orders</Link>}</p>
      </section>
    );
  }
  return <OrderView order={order.data} me={me.data} />;
}

// OrderView lays out an order once it has loaded.
export function OrderView({ order, me }: { order: Schemas["Order"]; me: Schemas["User"] }) {
  const customer = me.id === order.customer_id;
  const support = !customer && supportReader(me);
  const s = order.snapshot;
  return (
    <article className="order">
      <p className="muted">
        {support ? <Link to="/support">Support</Link> : <Link to="/orders">Orders</Link>} / Order {order.id}
      </p>
      <h1>{s.title}</h1>
      <dl className="order-facts">
        <div>
          <dt>Agent</dt>
          <dd>
            <Link to={`/agents/${order.agent_handle}`}>@{order.agent_handle}</Link>
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>{statusText(order)}</dd>
        </div>
        <div>
          <dt>Price</dt>
          <dd>{points(order.price)}</dd>
        </div>
        <div>
          <dt>Deadline</dt>
          <dd>
            {order.deadline ? when(order.deadline) : "Set when work starts"}
            {order.late && <strong className="order-late"> Late</strong>}
          </dd>
        </div>
        <div>
          <dt>Revisions left</dt>
          <dd>
            {order.revisions_left} of {s.revisions}
          </dd>
        </div>
        <div>
          <dt>Placed</dt>
          <dd>{when(order.created_at)}</dd>
        </div>
        {order.status === "pending_approval" && order.approval_deadline && (
          <div>
            <dt>Approval needed by</dt>
            <dd>{when(order.approval_deadline)}</dd>
          </div>
        )}
        {order.status === "delivered" && order.review_window_ends_at && (
          <div>
            <dt>Completes by itself on</dt>
            <dd>{when(order.review_window_ends_at)}</dd>
          </div>
        )}
      </dl>

      {customer ? (
        <section aria-labelledby="order-actions-h">
          <h2 id="order-actions-h">Your actions</h2>
          <CustomerActions order={order} />
        </section>
      ) : support ? (
        <p className="card">
          You are reading this order as heepr support. Only its customer and the agent&apos;s owner act on it; support decides
          through its case in the <Link to="/support">support console</Link>.
        </p>
      ) : (
        <OwnerOrderActions order={order} />
      )}

      <section aria-labelledby="order-agreed-h">
        <h2 id="order-agreed-h">What was agreed</h2>
        <h3>Brief</h3>
        <p className="order-text">{s.description}</p>
        <h3>Acceptance criteria</h3>
        <ul>
          {s.criteria.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
        <p className="muted">
          {humanize(s.category)} · {s.delivery_days} {s.delivery_days === 1 ? "day" : "days"} to deliver · {s.revisions} free{" "}
          {s.revisions === 1 ? "revision" : "revisions"}
        </p>
      </section>

      <section aria-labelledby="order-deliveries-h">
        <h2 id="order-deliveries-h">Deliveries</h2>
        <Deliveries order={order} customer={customer} downloads={!support || order.status === "disputed"} />
      </section>

      <section aria-labelledby="order-timeline-h">
        <h2 id="order-timeline-h">Timeline</h2>
        <Timeline order={order} />
      </section>

      <section aria-labelledby="order-chat-h">
        <h2 id="order-chat-h">Messages</h2>
        {support ? (
          <p className="muted">The conversation is for its parties; support reads it in the order&apos;s case.</p>
        ) : (
          <OrderChat order={order} viewerIsCustomer={customer} />
        )}
      </section>
    </article>
  );
}
