// Parses .github/workflows/deploy.yml (YAML) and reads the Dockerfile and the
// CMake files, and checks what the runbook's deploy, verification, rollback
// and version procedures rely on: the steps, their order and their commands.
// Prints one "PASS: ..." or "FAIL: ..." line per check; exits 1 if any failed.
//
// Usage: node check-deploy-workflow.mjs <repository root>

import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";

const repo = path.resolve(process.argv[2] || "../..");
let failures = 0;

function check(cond, msg, detail) {
  if (cond) console.log(`PASS: ${msg}`);
  else {
    console.log(`FAIL: ${msg}${detail === undefined ? "" : ` (got ${JSON.stringify(detail)})`}`);
    failures++;
  }
}

function read(rel) {
  try {
    return fs.readFileSync(path.join(repo, rel), "utf8");
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------- deploy.yml

let workflow = {};
try {
  workflow = parse(read(".github/workflows/deploy.yml")) || {};
  check(true, "deploy.yml parses as YAML");
} catch (e) {
  check(false, "deploy.yml parses as YAML", String(e.message).split("\n")[0]);
}
const steps = workflow?.jobs?.deploy?.steps || [];
check(steps.length > 0, "deploy.yml has a deploy job with steps", steps.length);

const at = (pred) => steps.findIndex(pred);
const run = (i) => (i >= 0 ? String(steps[i].run || "") : "");
// Lines that are not shell comments, so that a commented-out command does not count.
const code = (i) => run(i).split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");

const select = at((s) => /Select environment/.test(s.name || ""));
check(/echo "IMAGE_TAG=\$\{GITHUB_REF_NAME\}"/.test(code(select)) && /echo "VERSION=\$\{GITHUB_REF_NAME#v\}"/.test(code(select)),
  "prod: the image tag is the git tag, the version the tag without its v");

const build = at((s) => /docker build/.test(code(steps.indexOf(s))));
check(/docker build[^\n]*--platform linux\/amd64/.test(code(build)), "the image is built for linux/amd64 (the task definition's X86_64)");
check(/--build-arg USAGE_METRICS_VERSION="\$VERSION"/.test(code(build)), "the image is built with USAGE_METRICS_VERSION=$VERSION");

const applyRe = /terraform apply -auto-approve -input=false -var="image_tag=\$\{IMAGE_TAG\}"\s*$/m;
const apply = at((s) => applyRe.test(code(steps.indexOf(s))) && !/-target=/.test(code(steps.indexOf(s))));
check(apply >= 0, "a step applies all of Terraform with image_tag");

const before = at((s) => s.id === "before");
check(before >= 0 && before < apply, "the task definition running before the deploy is recorded before terraform apply",
  { before, apply });
check(/aws ecs describe-services/.test(code(before)) && /PRIMARY/.test(code(before)) &&
  /task_definition=.*>> "\$GITHUB_OUTPUT"/.test(code(before)),
  "…from the service's PRIMARY deployment, as output task_definition");

const wait = at((s) => s.id === "wait");
check(wait > apply && /aws ecs wait services-stable --cluster "\$CLUSTER" --services "\$SERVICE"/.test(code(wait)),
  "after the apply, a step (id wait) waits for services-stable");

const verify = at((s) => s.id === "verify");
const v = code(verify);
check(verify > wait, "after the wait, a step (id verify) checks the deployment", { wait, verify });
check(/terraform output -raw task_definition_arn/.test(v) && /aws ecs describe-services/.test(v) &&
  /select\(\.status == "PRIMARY"\)/.test(v) && /\.taskDefinition/.test(v) && /"\$running" != "\$expected"/.test(v),
  "verify: the PRIMARY deployment runs the task definition this deploy registered");
check(/\.rolloutState/.test(v) && /"\$rollout" != "COMPLETED"/.test(v),
  "verify: the deployment's rolloutState is COMPLETED (not rolled back by the circuit breaker)");
check(/exit 1/.test(v) && steps[verify]?.["continue-on-error"] !== true, "verify: fails the job when either does not hold");

const rollback = at((s) => /aws ecs update-service/.test(code(steps.indexOf(s))));
const rb = steps[rollback] || {};
const cond = String(rb.if || "");
check(rollback > verify, "a rollback step follows the check", { verify, rollback });
check(/failure\(\)/.test(cond) && /steps\.wait\.outcome == 'failure'/.test(cond) && /steps\.verify\.outcome == 'failure'/.test(cond),
  "rollback runs on failure of the wait or of the check", cond);
check(/steps\.before\.outputs\.task_definition/.test(JSON.stringify(rb.env || {})) &&
  /aws ecs update-service --cluster "\$CLUSTER" --service "\$SERVICE" \\\s*\n\s*--task-definition "\$PREVIOUS"/.test(code(rollback)),
  "rollback puts the service back on the recorded task definition with update-service");
check(/aws ecs wait services-stable/.test(code(rollback)) && /exit 1\s*$/.test(code(rollback).trimEnd()),
  "rollback waits for the service and still fails the job");
check(!/list-task-definitions/.test(JSON.stringify(steps)),
  "rollback does not guess the previous revision from list-task-definitions");

// ---------------------------------------------------------------- Dockerfile

const dockerfile = read("Dockerfile");
const stages = dockerfile.split(/^FROM /m);
const buildStage = stages.find((st) => /AS build/.test(st.split("\n")[0])) || "";
const runtimeStage = stages.find((st) => /AS runtime/.test(st.split("\n")[0])) || "";
check(/^ARG USAGE_METRICS_VERSION=1\.0\.0$/m.test(stages[0]), "Dockerfile: build argument USAGE_METRICS_VERSION, default 1.0.0");
check(/^ARG USAGE_METRICS_VERSION$/m.test(buildStage) && /-DUSAGE_METRICS_VERSION="\$\{USAGE_METRICS_VERSION\}"/.test(buildStage),
  "Dockerfile: the build stage passes it to CMake");
check(/^ARG USAGE_METRICS_VERSION$/m.test(runtimeStage) &&
  /org\.opencontainers\.image\.version="\$\{USAGE_METRICS_VERSION\}"/.test(runtimeStage),
  "Dockerfile: the image is labelled with it (org.opencontainers.image.version)");

// ---------------------------------------------------------------- CMake: one place

const modelCmake = read("model/CMakeLists.txt");
check(/set\(USAGE_METRICS_VERSION "1\.0\.0" CACHE STRING/.test(modelCmake) &&
  /target_compile_definitions\(um_version PRIVATE\s+USAGE_METRICS_VERSION="\$\{USAGE_METRICS_VERSION\}"\)/.test(modelCmake),
  "CMake: cache variable USAGE_METRICS_VERSION (default 1.0.0) compiled into um_version only");
const hardcoded = [];
for (const dir of ["model", "storage", "actors", "http", "app"]) {
  for (const f of fs.readdirSync(path.join(repo, dir))) {
    if (/\.(cpp|hpp)$/.test(f) && /"1\.0\.0"/.test(read(path.join(dir, f)))) hardcoded.push(`${dir}/${f}`);
  }
}
if (/"1\.0\.0"/.test(read("main.cpp"))) hardcoded.push("main.cpp");
check(hardcoded.length === 0, "no source file hard-codes the version \"1.0.0\"", hardcoded);
check(!/project\([^)]*VERSION/.test(read("CMakeLists.txt")), "CMakeLists.txt sets no second version in project()");

// ---------------------------------------------------------------- runbook

const runbook = read("docs/RUNBOOK.md");
check(/docker build --platform linux\/amd64/.test(runbook) && /--build-arg USAGE_METRICS_VERSION=/.test(runbook),
  "RUNBOOK: the manual build is for linux/amd64 with the version");
check(/skip_destroy/.test(runbook) && /aws ecs update-service[\s\S]{0,200}--task-definition delivery-standard:<previous-revision>/.test(runbook),
  "RUNBOOK: rollback by revision, explained by skip_destroy");

process.exit(failures ? 1 : 0);
