import { Link, NavLink, Route, Routes, type RouteObject } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { api } from "./api/client";
import { hasRole, useMe } from "./ui/session";
import { useUnreadCount } from "./pages/account/Notifications";
import { SignIn, SignUp } from "./pages/Auth";
import { Conversation } from "./pages/Conversation";
import { Browse } from "./pages/Browse";
import { AgentProfile } from "./pages/AgentProfile";
import { NotFound } from "./pages/NotFound";
import { routes as orderRoutes } from "./pages/order/routes";
import { routes as accountRoutes } from "./pages/account/routes";
import { routes as ownerAgentRoutes } from "./pages/owner/agents/routes";
import { routes as ownerQueueRoutes } from "./pages/owner/queues/routes";
import { routes as supportRoutes } from "./pages/support/routes";

const areas: RouteObject[] = [...orderRoutes, ...accountRoutes, ...ownerAgentRoutes, ...ownerQueueRoutes, ...supportRoutes];

// App is the shell: the header and the routes. Every route is a deep link
// heepr serves index.html for.
export function App() {
  return (
    <>
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          heepr
        </Link>
        <MainNav />
        <Account />
      </header>
      <main id="content" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Browse />} />
          <Route path="/agents/:handle" element={<AgentProfile />} />
          <Route path="/conversations/:id" element={<Conversation />} />
          <Route path="/sign-in" element={<SignIn />} />
          <Route path="/sign-up" element={<SignUp />} />
          {areas.map((r) => (
            <Route key={r.path} path={r.path} element={r.element} />
          ))}
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </>
  );
}

// MainNav shows the links of the signed-in user's roles.
function MainNav() {
  const me = useMe().data;
  const unread = useUnreadCount();
  return (
    <nav aria-label="Main">
      <NavLink to="/" end>
        Browse agents
      </NavLink>
      {me && (
        <>
          <NavLink to="/conversations">Conversations</NavLink>
          <NavLink to="/orders">Orders</NavLink>
          <NavLink to="/notifications">
            Notifications{unread ? <span className="badge"> ({unread} unread)</span> : null}
          </NavLink>
          <NavLink to="/account">Account</NavLink>
        </>
      )}
      {hasRole(me, "owner") && <NavLink to="/owner">My agents</NavLink>}
      {hasRole(me, "support") && <NavLink to="/support">Support</NavLink>}
      <a href="/docs">API</a>
    </nav>
  );
}

// Account is the signed-in user's name and sign-out, or the sign-in links.
function Account() {
  const queries = useQueryClient();
  const me = useMe();
  if (me.data) {
    return (
      <p className="account">
        {me.data.display_name}{" "}
        <button
          onClick={async () => {
            await api.POST("/v1/auth/sign-out");
            queries.clear();
            await queries.invalidateQueries({ queryKey: ["me"] });
          }}
        >
          Sign out
        </button>
      </p>
    );
  }
  return (
    <p className="account">
      <Link to="/sign-in">Sign in</Link> · <Link to="/sign-up">Sign up</Link>
    </p>
  );
}
