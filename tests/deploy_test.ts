/**
 * The deployment files operators start from: every Kubernetes manifest under deploy/kubernetes
 * validates against the Kubernetes API's own schemas (the `kubernetes-models` package, generated
 * from them), and the manifests and compose.yaml agree with the server on what matters — ports,
 * probes, the drain fitting in the grace period, every variable a setting the server knows.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { SETTINGS } from "../lib/server/settings.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const K8S = `${ROOT}deploy/kubernetes/`;

type Manifest =
  & { apiVersion: string; kind: string; metadata: { name: string } }
  & Record<
    string,
    // deno-lint-ignore no-explicit-any
    any
  >;

// deno-lint-ignore no-explicit-any
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

async function manifests(): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for await (const entry of Deno.readDir(K8S)) {
    if (!entry.name.endsWith(".yaml") || entry.name === "kustomization.yaml") continue;
    for (const doc of parseAllDocuments(await Deno.readTextFile(K8S + entry.name))) {
      if (doc.errors.length > 0) throw new Error(`${entry.name}: ${doc.errors[0].message}`);
      out.push(doc.toJS() as Manifest);
    }
  }
  return out;
}

const knownVariables = new Set(Object.values(SETTINGS).map((s) => s.env));

Deno.test("every Kubernetes manifest validates against the API's schema, and kustomization lists them all", async () => {
  const all = await manifests();
  const kinds = all.map((m) => `${m.apiVersion}/${m.kind}`).sort();
  assertEquals(kinds, [
    "apps/v1/Deployment",
    "autoscaling/v2/HorizontalPodAutoscaler",
    "policy/v1/PodDisruptionBudget",
    "v1/ConfigMap",
    "v1/Secret",
    "v1/Service",
    "v1/Service",
  ]);
  for (const m of all) {
    const Model = MODELS[`${m.apiVersion}/${m.kind}`];
    try {
      new Model(m).validate();
    } catch (error) {
      throw new Error(`${m.kind} ${m.metadata.name}: ${error}`);
    }
  }
  // The schema check catches a broken manifest (so this test can fail).
  const broken = structuredClone(all.find((m) => m.kind === "Deployment")!);
  broken.spec.replicas = "two";
  let refused = false;
  try {
    new Deployment(broken).validate();
  } catch {
    refused = true;
  }
  assert(refused, 'a Deployment with replicas: "two" was accepted');
  const kustomization = parseYaml(await Deno.readTextFile(`${K8S}kustomization.yaml`));
  const listed = new Set(kustomization.resources);
  for await (const entry of Deno.readDir(K8S)) {
    if (entry.name.endsWith(".yaml") && entry.name !== "kustomization.yaml") {
      assert(listed.has(entry.name), `kustomization.yaml leaves out ${entry.name}`);
    }
  }
});

Deno.test("the Kubernetes manifests agree with the server: ports, probes, drain within the grace period, known settings", async () => {
  const all = await manifests();
  const deployment = all.find((m) => m.kind === "Deployment")!;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  assertEquals(
    container.ports.map((p: { containerPort: number; protocol: string }) =>
      `${p.containerPort}/${p.protocol}`
    ),
    ["8080/TCP", "4433/UDP"],
  );
  assertEquals(container.readinessProbe.httpGet.path, "/readyz");
  assertEquals(container.livenessProbe.httpGet.path, "/healthz");
  assertEquals(pod.securityContext.runAsUser, 1993, "the image's non-root user");
  const config = all.find((m) => m.kind === "ConfigMap")!;
  const secret = all.find((m) => m.kind === "Secret")!;
  for (const name of [...Object.keys(config.data), ...Object.keys(secret.stringData)]) {
    assert(knownVariables.has(name), `${name} is not a setting the server knows`);
  }
  const drainSeconds = Number(config.data.DRAIN_TIMEOUT_MS) / 1000;
  assert(
    drainSeconds < pod.terminationGracePeriodSeconds,
    `the drain (${drainSeconds} s) must end before the grace period`,
  );
  const services = all.filter((m) => m.kind === "Service");
  const udp = services.find((s) => s.spec.ports[0].protocol === "UDP")!;
  assertEquals(udp.spec.type, "LoadBalancer");
  assertEquals(udp.spec.ports[0].port, 4433);
  const tcp = services.find((s) => s.spec.ports[0].protocol === "TCP")!;
  assertEquals(tcp.spec.ports[0].port, 8080);
});

Deno.test("compose.yaml runs two servers sharing NATS, PostgreSQL and the secret behind one balancer, with known settings", async () => {
  const compose = parseYaml(await Deno.readTextFile(`${ROOT}compose.yaml`), { merge: true });
  const services = compose.services;
  for (const name of ["nats", "postgres", "server-a", "server-b", "balancer"]) {
    assert(services[name] !== undefined, `compose.yaml has no ${name}`);
  }
  const a = services["server-a"].environment;
  const b = services["server-b"].environment;
  assertEquals(a, b, "both servers share their settings");
  for (const name of ["NATS_URL", "DATABASE_URL", "JWT_SECRET"]) assert(a[name], name);
  for (const name of Object.keys(a)) {
    assert(knownVariables.has(name), `${name} is not a setting the server knows`);
  }
  assertEquals(services.balancer.ports, ["8080:8080/tcp", "4433:4433/udp"]);
  const grace = Number(/^(\d+)s$/.exec(services["server-a"].stop_grace_period)?.[1]);
  assert(Number(a.DRAIN_TIMEOUT_MS) / 1000 < grace, "the drain ends before compose kills");
  const nginx = await Deno.readTextFile(`${ROOT}deploy/compose/nginx.conf`);
  for (const server of ["server-a:8080", "server-b:8080", "server-a:4433", "server-b:4433"]) {
    assert(nginx.includes(server), `the balancer does not reach ${server}`);
  }
  assert(nginx.includes("listen 4433 udp"), "the balancer carries WebTransport over UDP");
  assert(nginx.includes("X-Forwarded-For"), "the balancer forwards the client address");
});
