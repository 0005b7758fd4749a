import { define } from "../utils.ts";

export const handler = define.handlers({
  GET(ctx) {
    const to = ctx.url.searchParams.get("to");
    return to === null ? ctx.redirect("/about") : ctx.redirect(to, 307);
  },
});
