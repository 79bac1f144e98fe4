import { useEffect, useRef, type ReactNode } from "react";
import { Link, NavLink } from "react-router";
import { useInfiniteQuery, useQuery, type UseInfiniteQueryResult } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { ProblemMessage } from "../../Problem";
import { Empty, Loading } from "../../../ui/states";

type Order = Schemas["Order"];

// How often an open queue looks for new work.
export const QUEUE_REFRESH_MS = 30_000;

// QueueShell is the frame of an owner queue page: the links between the
// queues, the page heading and intro, and a status line announcing what the
// owner's last action did (focused, since the item acted on leaves the queue).
export function QueueShell({ title, intro, done, children }: { title: string; intro: ReactNode; done: string; children: ReactNode }) {
  const status = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    if (done) status.current?.focus();
  }, [done]);
  return (
    <section className="qs-page">
      <nav aria-label="Owner queues" className="qs-nav">
        <ul>
          <li>
            <NavLink to="/owner/approvals">Approvals</NavLink>
          </li>
          <li>
            <NavLink to="/owner/deliveries">Deliveries to review</NavLink>
          </li>
          <li>
            <NavLink to="/owner/human-requests">Human requests</NavLink>
          </li>
        </ul>
      </nav>
      <h1>{title}</h1>
      <p className="muted">{intro}</p>
      <p role="status" ref={status} tabIndex={-1} className={done ? "qs-done" : "qs-done-empty"}>
        {done}
      </p>
      {children}
    </section>
  );
}

// useOrderQueue pages through the orders of the owner's agents in one status,
// newest first, refreshing while the page is open.
export function useOrderQueue(status: Schemas["OrderStatus"]) {
  return useInfiniteQuery({
    queryKey: ["owner-queue", status],
    initialPageParam: undefined as string | undefined,
    refetchInterval: QUEUE_REFRESH_MS,
    queryFn: async ({ pageParam }) =>
      must(await api.GET("/v1/orders", { params: { query: { as: "owner", status, cursor: pageParam, limit: 20 } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

// OrderQueue renders a paged order queue as a list, with its loading, error
// and empty states and a "Show more" button while older pages remain.
export function OrderQueue({
  query,
  empty,
  what,
  children,
}: {
  query: UseInfiniteQueryResult<{ pages: Schemas["OrderList"][] }>;
  empty: ReactNode;
  what: string;
  children: (order: Order) => ReactNode;
}) {
  if (query.isPending) return <Loading what={what} />;
  // A failed refresh or "Show more" keeps the orders already shown.
  if (!query.data) return <ProblemMessage error={query.error} />;
  const orders = query.data.pages.flatMap((p) => p.items);
  return (
    <>
      {orders.length ? (
        <ul className="qs-list">
          {orders.map((o) => (
            <li key={o.id}>{children(o)}</li>
          ))}
        </ul>
      ) : (
        <Empty>{empty}</Empty>
      )}
      {query.isError && <ProblemMessage error={query.error} />}
      {query.hasNextPage && (
        <button type="button" onClick={() => query.fetchNextPage()} disabled={query.isFetchingNextPage}>
          Show more
        </button>
      )}
    </>
  );
}

// useCustomerName is the name of an order's customer: the order only carries
// their id, so it comes from the order's conversation.
function useCustomerName(order: Order) {
  const conv = useQuery({
    queryKey: ["conversation", order.conversation_id],
    queryFn: async () =>
      must(await api.GET("/v1/conversations/{conversationId}", { params: { path: { conversationId: order.conversation_id } } })),
  });
  return conv.data?.customer_name;
}

// CustomerName shows an order's customer by name.
export function CustomerName({ order }: { order: Order }) {
  const name = useCustomerName(order);
  return <>{name ?? "…"}</>;
}

// ConversationLink links to an order's conversation, named after its customer.
export function ConversationLink({ order }: { order: Order }) {
  const name = useCustomerName(order);
  return <Link to={`/conversations/${order.conversation_id}`}>{name ? `Conversation with ${name}` : "Conversation with the customer"}</Link>;
}
