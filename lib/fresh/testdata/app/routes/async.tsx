import { define } from "../utils.ts";

export default define.page(async function AsyncPage({ url }) {
  const text = await Promise.resolve(`async ${url.pathname}`);
  return <p class="async">{text}</p>;
});
