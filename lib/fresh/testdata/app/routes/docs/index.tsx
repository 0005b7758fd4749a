import { define } from "../../utils.ts";

export default define.page(function DocsIndex({ state }) {
  return <h1 class="docs-index">Docs ({state.trail.join(">")})</h1>;
});
