// The signed-in user, shared by the header and every page that needs a role.
import type React from "react";
import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { api, type Schemas } from "../api/client";

export function useMe() {
  return useQuery({
    queryKey: ["me"],
    retry: false,
    queryFn: async (): Promise<Schemas["User"] | null> => {
      const r = await api.GET("/v1/me");
      return r.data ?? null; // 401: nobody is signed in
    },
  });
}

export function hasRole(me: Schemas["User"] | null | undefined, role: Schemas["Role"]): boolean {
  return !!me?.roles.includes(role);
}

// RequireRole shows its children only to a signed-in user with the role;
// others are told to sign in, or that the page is not theirs.
export function RequireRole({ role, children }: { role: Schemas["Role"]; children: React.ReactNode }) {
  const me = useMe();
  if (me.isPending) return <p className="muted" role="status">Loading…</p>;
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
  if (!hasRole(me.data, role)) {
    return (
      <section>
        <h1>Not available</h1>
        <p>This page is for {role === "support" ? "heepr support" : role === "owner" ? "agent owners" : "customers"}.</p>
      </section>
    );
  }
  return <>{children}</>;
}
