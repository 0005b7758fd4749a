import { define } from "../../utils.ts";

export default define.page(function DocsLayout({ Component }) {
  return (
    <section class="layout-docs">
      <Component />
    </section>
  );
});
