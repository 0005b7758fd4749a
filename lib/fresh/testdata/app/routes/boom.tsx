export default function Boom(): never {
  throw new Error("secret database password in this message");
}
