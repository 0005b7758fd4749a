import { define } from "../../utils.ts";

export default define.page(function User({ params }) {
  return <p class="user">user {params.id}</p>;
});
