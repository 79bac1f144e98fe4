// Pieces shared by the account area's pages: the signed-in guard, a paged
// list's loading/error/"load more" states, and a table that scrolls on phones.
import type { ReactNode } from "react";
import { Link } from "react-router";
import type { UseInfiniteQueryResult, InfiniteData } from "@tanstack/react-query";
import { useMe } from "../../ui/session";
import { Loading } from "../../ui/states";
import { ProblemMessage } from "../Problem";

// SignedIn shows its children to any signed-in user, and a sign-in prompt to visitors.
export function SignedIn({ children }: { children: ReactNode }) {
  const me = useMe();
  if (me.isPending) return <Loading />;
  if (!me.data) {
    return (
      <section>
        <h1>Sign in to continue</h1>
        <p>
          This page needs an account. <Link to="/sign-in">Sign in</Link> or <Link to="/sign-up">create one</Link>.
        </p>
      </section>
    );
  }
  return <>{children}</>;
}

type Paged<T> = { items: T[]; next_cursor?: string | null };

// PagedState renders an infinite query: loading, error (when nothing has
// arrived), the items through children, then a "Load more" button and the
// error of a page that failed after the first.
export function PagedState<T>({
  query,
  what,
  more,
  children,
}: {
  query: UseInfiniteQueryResult<InfiniteData<Paged<T>>>;
  what: string;
  more: string;
  children: (items: T[]) => ReactNode;
}) {
  if (query.isPending) return <Loading what={what} />;
  if (!query.data) return <ProblemMessage error={query.error} />;
  const items = query.data.pages.flatMap((p) => p.items);
  return (
    <>
      {children(items)}
      {query.isFetchNextPageError && <ProblemMessage error={query.error} />}
      {query.hasNextPage && (
        <p>
          <button type="button" onClick={() => query.fetchNextPage()} disabled={query.isFetchingNextPage}>
            {more}
          </button>
          {query.isFetchingNextPage && (
            <span className="muted" role="status">
              {" "}
              Loading…
            </span>
          )}
        </p>
      )}
    </>
  );
}

// ScrollTable wraps a wide table so it scrolls sideways on a phone; the
// region is focusable so keyboard users can scroll it too.
export function ScrollTable({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="acct-scroll" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

// nextCursor is the getNextPageParam of every list in this area.
export function nextCursor(last: { next_cursor?: string | null }): string | undefined {
  return last.next_cursor || undefined;
}
