import { define } from "../utils.ts";

export default define.page(function RootLayout({ Component, state }) {
  return (
    <div class="layout-root" data-trail={state.trail?.join(",")}>
      <Component />
    </div>
  );
});
