/**
 * The baseline of `bench:meeting`'s memory figure: a bare `Deno.serve` that upgrades every
 * request to a WebSocket and holds it, doing nothing else. Prints its port on stdout.
 *
 * @module
 */
const held: WebSocket[] = [];
const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.binaryType = "arraybuffer";
  socket.onmessage = () => {};
  held.push(socket);
  return response;
});
console.log(server.addr.port);
