import { HttpError, page } from "fresh";
import { define } from "../../utils.ts";

export const handler = define.handlers({
  GET(ctx) {
    if (ctx.params.slug === "missing") throw new HttpError(404, "No such document");
    return page({ slug: ctx.params.slug, route: ctx.route });
  },
});

export default define.page<typeof handler>(function Doc({ data }) {
  return <article class="doc" data-route={data.route}>{data.slug}</article>;
});
