import { define } from "../utils.ts";

export default define.page(function AnyPage({ params }) {
  return <h1 class="any-page">{params.page}</h1>;
});
