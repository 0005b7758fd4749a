export default function Pricing() {
  return <h1 class="pricing">Pricing</h1>;
}
