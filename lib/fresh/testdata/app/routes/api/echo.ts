import { define } from "../../utils.ts";

export const handler = define.handlers({
  GET(ctx) {
    return Response.json({ q: ctx.url.searchParams.get("q") });
  },
  async POST(ctx) {
    return Response.json({ received: await ctx.req.text() }, { status: 201 });
  },
});
