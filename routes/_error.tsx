import { HttpError } from "fresh";
import { define } from "../components/define.ts";

export default define.page(function ErrorPage({ error }) {
  const status = error instanceof HttpError ? error.status : 500;
  const message = error instanceof HttpError && error.message
    ? error.message
    : status === 404
    ? "There is nothing at this address."
    : "Something went wrong on the server.";
  return (
    <main class="center-card">
      <div class="card">
        <h1>{status === 404 ? "Page not found" : status < 500 ? "That did not work" : "Error"}</h1>
        <p class="warning">{message}</p>
        <a class="button primary" href="/">Go to the start page</a>
      </div>
    </main>
  );
});
