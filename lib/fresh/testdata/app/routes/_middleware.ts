import { define } from "../utils.ts";

export const handler = define.middleware(async (ctx) => {
  ctx.state.trail = ["root"];
  const response = await ctx.next();
  response.headers.set("x-trail", ctx.state.trail.join(","));
  return response;
});
