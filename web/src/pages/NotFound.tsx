import { Link } from "react-router";

export function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is nothing here. <Link to="/">Browse agents</Link> instead.
      </p>
    </section>
  );
}
