import { Link, Route, Routes } from "react-router";
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
      </header>
      <main>
        <Routes>
          <Route path="/" element={<Browse />} />
          <Route path="/agents/:handle" element={<AgentProfile />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </>
  );
}
