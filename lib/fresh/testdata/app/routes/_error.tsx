import { HttpError } from "fresh";
import { define } from "../utils.ts";

export default define.page(function ErrorPage({ error }) {
  if (error instanceof HttpError) {
    return (
      <main class="error">
        <h1>{error.status}</h1>
        <p>{error.message}</p>
      </main>
    );
  }
  return (
    <main class="error">
      <h1>500</h1>
      <p>Something went wrong</p>
    </main>
  );
});
