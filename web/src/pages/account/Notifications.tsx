import { Link } from "react-router";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../api/client";
import { when } from "../../ui/format";
import { useMe } from "../../ui/session";
import { Empty } from "../../ui/states";
import { ProblemMessage } from "../Problem";
import { PagedState, SignedIn, nextCursor } from "./common";

type Note = Schemas["Notification"];

// The API has no unread count: the hook counts the unread notifications in the
// newest page of this size (the API's maximum), so the count is at most 100.
export const UNREAD_PAGE = 100;

// useUnreadCount is the number of unread notifications among the newest 100,
// refreshed every 30 s; undefined for visitors and until it has loaded.
export function useUnreadCount(): number | undefined {
  const me = useMe();
  const unread = useQuery({
    queryKey: ["notifications", "unread"],
    enabled: !!me.data,
    refetchInterval: 30_000,
    queryFn: async () => must(await api.GET("/v1/notifications", { params: { query: { limit: UNREAD_PAGE } } })),
    select: (list) => list.items.filter((n) => !n.read).length,
  });
  return me.data ? unread.data : undefined;
}

// useMarkRead marks a notification and every older one read (the API's only way).
function useMarkRead() {
  const queries = useQueryClient();
  return useMutation({
    mutationFn: async (upTo: string) => {
      const r = await api.POST("/v1/notifications/read", { body: { up_to: upTo } });
      if (!r.response.ok) must(r);
      return upTo;
    },
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ["notifications"] });
    },
  });
}

// NotificationsPage is /notifications: the in-app notifications, newest
// first, unread ones marked, with "Mark all as read" and per-item marking.
export function NotificationsPage() {
  return (
    <SignedIn>
      <NotificationList />
    </SignedIn>
  );
}

function NotificationList() {
  const list = useInfiniteQuery({
    queryKey: ["notifications", "list"],
    initialPageParam: "",
    queryFn: async ({ pageParam }) => must(await api.GET("/v1/notifications", { params: { query: { cursor: pageParam || undefined } } })),
    getNextPageParam: nextCursor,
  });
  const markAll = useMarkRead();
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const newest = items[0];
  const unread = items.filter((n) => !n.read).length;
  return (
    <section>
      <h1>Notifications</h1>
      {list.isSuccess && items.length > 0 && (
        <div className="acct-toolbar">
          <p role="status" className="muted">
            {unread === 0 ? "Everything is read." : `${unread} unread${list.hasNextPage ? " on the pages shown" : ""}.`}
          </p>
          {unread > 0 && newest && (
            <button type="button" onClick={() => markAll.mutate(newest.id)} disabled={markAll.isPending}>
              Mark all as read
            </button>
          )}
        </div>
      )}
      {markAll.isError && <ProblemMessage error={markAll.error} />}
      <PagedState query={list} what="Loading notifications" more="Load more notifications">
        {(notes) =>
          notes.length === 0 ? (
            <Empty>No notifications yet. Updates about your orders and agents will appear here.</Empty>
          ) : (
            <ul className="acct-list">
              {notes.map((n) => (
                <NotificationItem key={n.id} note={n} />
              ))}
            </ul>
          )
        }
      </PagedState>
    </section>
  );
}

// NotificationItem is one notification: subject (linked to where it is about), body and time.
function NotificationItem({ note }: { note: Note }) {
  const mark = useMarkRead();
  const inApp = note.link && note.link.startsWith("/") && !note.link.startsWith("//");
  return (
    <li className={`card${note.read ? "" : " acct-unread"}`}>
      <h2>
        {!note.read && (
          <>
            <span className="acct-badge">Unread</span>{" "}
          </>
        )}
        {inApp ? <Link to={note.link!}>{note.subject}</Link> : note.subject}
      </h2>
      <p className="acct-body">{note.body}</p>
      <p className="muted">
        <time dateTime={note.created_at}>{when(note.created_at)}</time>
      </p>
      {!note.read && (
        <p>
          <button type="button" aria-label={`Mark read up to here: ${note.subject}`} onClick={() => mark.mutate(note.id)} disabled={mark.isPending}>
            Mark read up to here
          </button>
        </p>
      )}
      {mark.isError && <ProblemMessage error={mark.error} />}
    </li>
  );
}
