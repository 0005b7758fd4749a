export default function NewUser() {
  return <p class="new-user">new user form</p>;
}
