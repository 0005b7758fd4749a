import { HttpError } from "fresh";
import { define } from "../utils.ts";

export default define.page(function NotFound({ error, url }) {
  return (
    <main class="not-found">
      <h1>Nothing here</h1>
      <p class="path">{url.pathname}</p>
      <p class="reason">{error instanceof HttpError ? error.message : ""}</p>
    </main>
  );
});
