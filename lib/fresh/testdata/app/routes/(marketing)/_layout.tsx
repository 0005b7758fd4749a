import { define } from "../../utils.ts";

export default define.page(function MarketingLayout({ Component }) {
  return (
    <div class="layout-marketing">
      <Component />
    </div>
  );
});
