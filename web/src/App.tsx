import { Link, Route, Routes } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "./api/client";
import { SignIn, SignUp } from "./pages/Auth";
import { Conversation } from "./pages/Conversation";
import { Browse } from "./pages/Browse";
import { AgentProfile } from "./pages/AgentProfile";
import { NotFound } from "./pages/NotFound";

// App is the shell: the header and the routes. Every route is a deep link
// heepr serves index.html for.
export function App() {
  return (
    <>
      <header className="top">
        <Link to="/" className="brand">heepr</Link>
        <nav aria-label="Main">
          <Link to="/">Browse agents</Link>
          <a href="/docs">API</a>
        </nav>
        <Account />
      </header>
      <main>
        <Routes>
          <Route path="/" element={<Browse />} />
          <Route path="/agents/:handle" element={<AgentProfile />} />
          <Route path="/conversations/:id" element={<Conversation />} />
          <Route path="/sign-in" element={<SignIn />} />
          <Route path="/sign-up" element={<SignUp />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </>
  );
}

// Account is the signed-in user's name and sign-out, or the sign-in links.
function Account() {
  const queries = useQueryClient();
  const me = useQuery({
    queryKey: ["me"],
    retry: false,
    queryFn: async () => {
      const r = await api.GET("/v1/me");
      return r.data ?? null; // 401: nobody is signed in
    },
  });
  if (me.data) {
    return (
      <p className="account">
        {me.data.display_name}{" "}
        <button
          onClick={async () => {
            await api.POST("/v1/auth/sign-out");
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
