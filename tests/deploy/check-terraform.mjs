// Parses every .tf file under terraform/ with HashiCorp's HCL parser
// (@cdktf/hcl2json, offline) and checks the names and settings the
// operators' runbook relies on. Prints one "PASS: ..." or "FAIL: ..." line
// per check; exits 1 if any check failed.
//
// Usage: node check-terraform.mjs <terraform-dir>

import fs from "node:fs";
import path from "node:path";
import { parse } from "@cdktf/hcl2json";

const root = path.resolve(process.argv[2] || "terraform");
let failures = 0;

function pass(msg) {
  console.log(`PASS: ${msg}`);
}
function fail(msg) {
  console.log(`FAIL: ${msg}`);
  failures++;
}
function check(cond, msg, detail) {
  if (cond) pass(msg);
  else fail(detail === undefined ? msg : `${msg} (got ${JSON.stringify(detail)})`);
}

function findTfFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === ".terraform" || e.name === "node_modules") continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findTfFiles(p));
    else if (e.isFile() && e.name.endsWith(".tf")) out.push(p);
  }
  return out.sort();
}

// ---------------------------------------------------------------- parse

if (!fs.existsSync(root)) {
  fail(`terraform directory ${root} exists`);
  process.exit(1);
}

const files = findTfFiles(root);
check(files.length > 0, `found ${files.length} .tf files under terraform/`);

const dirs = new Map(); // dir -> list of parsed files
for (const f of files) {
  const rel = path.relative(root, f);
  const text = fs.readFileSync(f, "utf8");
  try {
    const json = await parse(rel, text);
    pass(`parses: terraform/${rel}`);
    const d = path.dirname(f);
    if (!dirs.has(d)) dirs.set(d, []);
    dirs.get(d).push(json);
  } catch (e) {
    fail(`parses: terraform/${rel}: ${String(e.message || e).split("\n")[0]}`);
  }
  // The formatting conventions of `terraform fmt` that are cheap to check.
  const bad = text
    .split("\n")
    .map((l, i) => [l, i + 1])
    .filter(([l]) => /\t/.test(l) || /[ \t]+$/.test(l) || (l.match(/^ */)[0].length % 2) === 1);
  check(bad.length === 0, `formatting (2-space indent, no tabs or trailing blanks): terraform/${rel}`,
    bad.slice(0, 3).map(([, n]) => `line ${n}`));
}

// Merge the files of one directory (one Terraform module).
function loadModule(dir) {
  const m = { variable: {}, locals: {}, resource: {}, data: {}, module: {}, output: {}, terraform: [] };
  for (const j of dirs.get(dir) || []) {
    for (const [name, blocks] of Object.entries(j.variable || {})) m.variable[name] = blocks[0];
    for (const l of j.locals || []) Object.assign(m.locals, l);
    for (const kind of ["resource", "data"]) {
      for (const [type, byName] of Object.entries(j[kind] || {})) {
        m[kind][type] = m[kind][type] || {};
        for (const [name, blocks] of Object.entries(byName)) m[kind][type][name] = blocks[0];
      }
    }
    for (const [name, blocks] of Object.entries(j.module || {})) m.module[name] = blocks[0];
    for (const [name, blocks] of Object.entries(j.output || {})) m.output[name] = blocks[0];
    m.terraform.push(...(j.terraform || []));
  }
  return m;
}

// ---------------------------------------------------------------- evaluation
// Resolves ${var.x} and ${local.x} references (and only those) so that the
// names a module builds from its inputs can be compared with the runbook.

function makeScope(mod, inputs) {
  const scope = { vars: {}, locals: {}, mod, resolving: new Set() };
  for (const [k, v] of Object.entries(mod.variable)) if ("default" in v) scope.vars[k] = v.default;
  Object.assign(scope.vars, inputs);
  return scope;
}

function lookup(scope, kind, name) {
  if (kind === "var") return name in scope.vars ? { ok: true, v: scope.vars[name] } : { ok: false };
  if (!(name in scope.mod.locals) || scope.resolving.has(name)) return { ok: false };
  scope.resolving.add(name);
  const v = resolve(scope.mod.locals[name], scope);
  scope.resolving.delete(name);
  return { ok: true, v };
}

function resolve(value, scope) {
  if (typeof value !== "string") return value;
  const whole = value.match(/^\$\{(var|local)\.([A-Za-z0-9_-]+)\}$/);
  if (whole) {
    const r = lookup(scope, whole[1], whole[2]);
    return r.ok ? r.v : value;
  }
  return value.replace(/\$\{(var|local)\.([A-Za-z0-9_-]+)\}/g, (m, kind, name) => {
    const r = lookup(scope, kind, name);
    return r.ok && (typeof r.v === "string" || typeof r.v === "number") ? String(r.v) : m;
  });
}

const res = (mod, type) => Object.values(mod.resource[type] || {});
const first = (x) => (Array.isArray(x) ? x[0] : x) || {};

// ---------------------------------------------------------------- checks

const seven = [
  "high-error-rate",
  "high-latency",
  "unhealthy-hosts",
  "low-requests",
  "no-healthy-hosts",
  "high-cpu",
  "high-memory",
];

const envs = {
  prod: {
    cluster: "ioanyt-prod",
    service: "delivery-standard",
    family: "delivery-standard",
    logGroup: "/ecs/delivery-standard-prod",
    dashboard: "delivery-standard-prod",
    environment: "production",
    multiAz: true,
  },
  staging: {
    cluster: "ioanyt-staging",
    service: "delivery-standard-staging",
    family: "delivery-standard-staging",
    logGroup: "/ecs/delivery-standard-staging",
    dashboard: "delivery-standard-staging",
    environment: "staging",
    multiAz: false,
  },
};

for (const [envName, want] of Object.entries(envs)) {
  const envDir = path.join(root, "environments", envName);
  const tag = `[${envName}]`;
  if (!dirs.has(envDir)) {
    fail(`${tag} terraform/environments/${envName} has .tf files`);
    continue;
  }
  const env = loadModule(envDir);
  const envScope = makeScope(env, {});

  const backend = env.terraform.map((t) => t.backend && t.backend.s3).find(Boolean);
  check(!!backend, `${tag} remote S3 backend block`);
  check(!!env.variable.image_tag, `${tag} variable "image_tag" is declared`);

  // Instantiate each module call with its resolved inputs.
  const calls = {};
  for (const [callName, call] of Object.entries(env.module)) {
    const src = path.resolve(envDir, call.source || "");
    const kind = path.basename(src);
    if (!dirs.has(src)) {
      fail(`${tag} module "${callName}" source ${call.source} exists`);
      continue;
    }
    const inputs = {};
    for (const [k, v] of Object.entries(call)) if (k !== "source") inputs[k] = resolve(v, envScope);
    const mod = loadModule(src);
    const missing = Object.entries(mod.variable)
      .filter(([k, v]) => !("default" in v) && !(k in inputs))
      .map(([k]) => k);
    check(missing.length === 0, `${tag} module "${callName}" gets all required inputs`, missing);
    const unknown = Object.keys(inputs).filter((k) => !(k in mod.variable) && !["depends_on", "providers", "count", "for_each"].includes(k));
    check(unknown.length === 0, `${tag} module "${callName}" gets no undeclared inputs`, unknown);
    calls[kind] = { mod, scope: makeScope(mod, inputs), inputs };
  }
  for (const kind of ["ecs_service", "alb", "monitoring", "database"]) {
    check(!!calls[kind], `${tag} uses modules/${kind}`);
  }
  if (!calls.ecs_service || !calls.alb || !calls.monitoring || !calls.database) continue;

  // ECS
  {
    const { mod, scope, inputs } = calls.ecs_service;
    const r = (x) => resolve(x, scope);
    const clusters = res(mod, "aws_ecs_cluster").map((c) => r(c.name));
    check(clusters.includes(want.cluster), `${tag} ECS cluster ${want.cluster}`, clusters);
    const svc = res(mod, "aws_ecs_service")[0] || {};
    check(r(svc.name) === want.service, `${tag} ECS service ${want.service}`, r(svc.name));
    check(r(svc.desired_count) === 2, `${tag} service desired count 2`, r(svc.desired_count));
    const cb = first(svc.deployment_circuit_breaker);
    check(cb.enable === true && cb.rollback === true, `${tag} deployment circuit breaker with rollback`, cb);
    const lb = first(svc.load_balancer);
    check(r(lb.container_port) === 3000, `${tag} service registers container port 3000`, r(lb.container_port));
    const td = res(mod, "aws_ecs_task_definition")[0] || {};
    check(r(td.family) === want.family, `${tag} task definition family ${want.family}`, r(td.family));
    check((td.requires_compatibilities || []).includes("FARGATE"), `${tag} task definition is for Fargate`);
    const cdefs = String(td.container_definitions || "");
    check(/"CMD",\s*"\/usr\/local\/bin\/usage-metrics",\s*"--healthcheck"/.test(cdefs),
      `${tag} container health check runs usage-metrics --healthcheck`);
    check(/logDriver\s*=\s*"awslogs"/.test(cdefs) && /awslogs-group/.test(cdefs), `${tag} awslogs log driver`);
    check(/\$\{var\.image_tag\}/.test(String(mod.locals.image || "")) && inputs.image_tag === "${var.image_tag}",
      `${tag} image tag comes from var.image_tag`);
    const logGroups = res(mod, "aws_cloudwatch_log_group").map((g) => r(g.name));
    check(logGroups.includes(want.logGroup), `${tag} log group ${want.logGroup}`, logGroups);
    const envText = String(mod.locals.environment || "");
    check(/PORT\s*=/.test(envText) && /HOST\s*=\s*"0\.0\.0\.0"/.test(envText) && /ENVIRONMENT\s*=/.test(envText) && /LOG_LEVEL\s*=/.test(envText),
      `${tag} container env PORT, HOST=0.0.0.0, ENVIRONMENT, LOG_LEVEL`);
    check(r("${var.container_port}") === 3000, `${tag} container port 3000`, r("${var.container_port}"));
    check(r("${var.environment}") === want.environment, `${tag} ENVIRONMENT=${want.environment}`, r("${var.environment}"));
    check(r("${var.log_level}") === "info", `${tag} LOG_LEVEL=info`, r("${var.log_level}"));
    const secretsText = JSON.stringify(mod.locals.secrets || {}).replace(/"([A-Z_]+)":/g, "$1 =");
    check(/DATABASE_URL\s*=/.test(secretsText), `${tag} DATABASE_URL comes from Secrets Manager`);
    check(/API_KEYS\s*=/.test(secretsText), `${tag} API_KEYS comes from Secrets Manager`);
    check(/secrets\s*=\s*\[/.test(cdefs) && /valueFrom/.test(cdefs), `${tag} task definition maps secrets with valueFrom`);
    check(res(mod, "aws_ecr_repository").length === 1 && res(mod, "aws_ecr_lifecycle_policy").length === 1,
      `${tag} ECR repository with a lifecycle policy`);
    check(res(mod, "aws_appautoscaling_target").length === 1 &&
      res(mod, "aws_appautoscaling_policy").some((p) => /ECSServiceAverageCPUUtilization/.test(JSON.stringify(p))),
      `${tag} CPU target tracking auto-scaling`);
    // Least privilege: "*" as a resource only for the actions that have no
    // resource-level permissions (ECR's token, ECS Exec's session channels,
    // the exec agent's log group lookup), each statement exactly those.
    const resourceless = [
      ["ecr:GetAuthorizationToken"],
      ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
      ["logs:DescribeLogGroups"],
    ].map((a) => JSON.stringify([...a].sort()));
    const docs = Object.values(mod.data.aws_iam_policy_document || {});
    const wild = [];
    for (const d of docs) {
      for (const st of d.statement || []) {
        const resources = [].concat(st.resources || []);
        const actions = [].concat(st.actions || []);
        if (resources.includes("*") && !resourceless.includes(JSON.stringify([...actions].sort()))) wild.push(actions);
        if (actions.some((a) => a === "*" || /:\*$/.test(a))) wild.push(actions);
      }
    }
    check(wild.length === 0, `${tag} IAM policies use no wildcard actions, nor "*" resources beyond actions without resource-level permissions`, wild);
    // Rollback: the revision a deploy replaces stays ACTIVE, so that
    // update-service can go back to it (deploy.yml, RUNBOOK "Rollback Deployment").
    check(td.skip_destroy === true, `${tag} task definition keeps replaced revisions (skip_destroy = true)`, td.skip_destroy);
    // ECS Exec: enabled on the service, sessions encrypted with the module's
    // KMS key and logged to its own log group, agent permissions on the task role.
    check(r(svc.enable_execute_command) === true, `${tag} ECS Exec enabled on the service (enable_execute_command)`, r(svc.enable_execute_command));
    const cluster = res(mod, "aws_ecs_cluster")[0] || {};
    const execCfg = first(first(cluster.configuration).execute_command_configuration);
    const execLog = first(execCfg.log_configuration);
    check(/aws_kms_key\.exec\.arn/.test(String(execCfg.kms_key_id)) && res(mod, "aws_kms_key").some((k) => k.enable_key_rotation === true),
      `${tag} ECS Exec sessions encrypted with a rotated KMS key`, execCfg.kms_key_id);
    const execGroups = Object.entries(mod.resource.aws_cloudwatch_log_group || {});
    const execGroup = execGroups.find(([name]) => `\${aws_cloudwatch_log_group.${name}.name}` === execLog.cloud_watch_log_group_name);
    check(execCfg.logging === "OVERRIDE" && !!execGroup && r(execGroup[1].name) === `${want.logGroup}/exec` &&
      execGroup[1].retention_in_days !== undefined,
      `${tag} ECS Exec sessions logged to ${want.logGroup}/exec`, execLog);
    const taskPolicies = res(mod, "aws_iam_role_policy").filter((p) => /aws_iam_role\.task\.(id|name)/.test(String(p.role)));
    const taskDocs = taskPolicies.map((p) => String(p.policy).match(/data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json/))
      .filter(Boolean).map((m) => mod.data.aws_iam_policy_document?.[m[1]] || {});
    const taskStatements = taskDocs.flatMap((d) => d.statement || []);
    const taskActions = taskStatements.flatMap((st) => [].concat(st.actions || []));
    check(["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel"].every((a) => taskActions.includes(a)),
      `${tag} task role may open ECS Exec session channels (ssmmessages)`, taskActions);
    check(taskStatements.some((st) => st.actions.includes("kms:Decrypt") && /aws_kms_key\.exec\.arn/.test(JSON.stringify(st.resources))) &&
      taskStatements.some((st) => st.actions.includes("logs:PutLogEvents") && /aws_cloudwatch_log_group\.exec\.arn/.test(JSON.stringify(st.resources))),
      `${tag} task role decrypts with the exec key and writes only the exec log group`);
    const execDoc = JSON.stringify(mod.data.aws_iam_policy_document?.execution || {});
    check(/secretsmanager:GetSecretValue/.test(execDoc) && /values\(local\.secrets\)/.test(execDoc) &&
      /aws_ecr_repository\.this\.arn/.test(execDoc) && /aws_cloudwatch_log_group\.this\.arn/.test(execDoc),
      `${tag} execution role reads only the service's secrets, ECR repository and log group`);
  }

  // ALB
  {
    const { mod, scope } = calls.alb;
    const r = (x) => resolve(x, scope);
    const tg = res(mod, "aws_lb_target_group")[0] || {};
    const hc = first(tg.health_check);
    check(r(hc.path) === "/health", `${tag} target group health check path /health`, r(hc.path));
    check(String(r(hc.port)) === "3000", `${tag} target group health check port 3000`, r(hc.port));
    check(String(r(hc.matcher)) === "200", `${tag} target group health check matcher 200`, r(hc.matcher));
    check(r(tg.port) === 3000, `${tag} target group port 3000`, r(tg.port));
    const listeners = res(mod, "aws_lb_listener");
    const http = listeners.find((l) => r(l.port) === 80) || {};
    const redirect = first(first(http.default_action).redirect);
    check(first(http.default_action).type === "redirect" && redirect.protocol === "HTTPS" && String(redirect.port) === "443",
      `${tag} HTTP listener redirects to HTTPS`);
    const https = listeners.find((l) => r(l.port) === 443) || {};
    check(https.protocol === "HTTPS" && /var\.certificate_arn/.test(String(https.certificate_arn)),
      `${tag} HTTPS listener uses the ACM certificate variable`);

    // Keep-alive: the ALB must drop an idle connection before the service
    // does (60 s < 75 s), or it sends requests on closed connections (502).
    const lb = res(mod, "aws_lb")[0] || {};
    const idle = r(lb.idle_timeout);
    const keepalive = r("${var.service_keepalive_timeout}");
    check(calls.alb.inputs.idle_timeout === 60 && idle === 60, `${tag} ALB idle_timeout set to 60 s in the environment`, idle);
    check(keepalive === 75 && idle < keepalive, `${tag} ALB idle_timeout (${idle}) below the service's keep-alive timeout (${keepalive})`);
    const pre = first(first(lb.lifecycle).precondition);
    check(/var\.idle_timeout\s*<\s*var\.service_keepalive_timeout/.test(String(pre.condition)),
      `${tag} the alb module refuses an idle_timeout at or above the keep-alive timeout`, pre.condition);

    // Access logs to S3: on, into the module's bucket, which is private,
    // encrypted, writable by the load balancer and expires what it holds.
    const logs = first(lb.access_logs);
    const bucketRef = String(logs.bucket).match(/^\$\{aws_s3_bucket\.([A-Za-z0-9_]+)\.(id|bucket)\}$/);
    check(logs.enabled === true && !!bucketRef, `${tag} ALB access logs enabled into the module's S3 bucket`, logs);
    const b = bucketRef ? bucketRef[1] : "";
    const onBucket = (type) => res(mod, type).filter((x) => new RegExp(`aws_s3_bucket\\.${b}\\.(id|bucket)`).test(String(x.bucket)));
    const lifecycle = onBucket("aws_s3_bucket_lifecycle_configuration").flatMap((l) => l.rule || []);
    const expiry = lifecycle.filter((rule) => rule.status === "Enabled").map((rule) => r(first(rule.expiration).days));
    check(expiry.some((d) => typeof d === "number" && d > 0), `${tag} access log bucket expires logs (lifecycle)`, expiry);
    const pab = onBucket("aws_s3_bucket_public_access_block")[0] || {};
    check(pab.block_public_acls === true && pab.block_public_policy === true && pab.ignore_public_acls === true &&
      pab.restrict_public_buckets === true, `${tag} access log bucket blocks public access`, pab);
    const sse = onBucket("aws_s3_bucket_server_side_encryption_configuration")
      .map((c) => first(first(c.rule).apply_server_side_encryption_by_default).sse_algorithm);
    check(sse.includes("AES256"), `${tag} access log bucket encrypted (SSE-S3, what access logs support)`, sse);
    const policy = onBucket("aws_s3_bucket_policy")[0] || {};
    const policyDoc = (String(policy.policy).match(/data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json/) || [])[1];
    const policyText = JSON.stringify(mod.data.aws_iam_policy_document?.[policyDoc] || {});
    check(/s3:PutObject/.test(policyText) && /logdelivery\.elasticloadbalancing\.amazonaws\.com/.test(policyText) &&
      /:root/.test(policyText) && String(mod.locals.elb_account_by_region?.["us-east-1"]) === "127311923021" &&
      /AWSLogs/.test(String(mod.locals.access_logs_path)),
      `${tag} access log bucket policy lets the regional ELB account or the log delivery service write AWSLogs/`);
    check((lb.depends_on || []).some((d) => /aws_s3_bucket_policy/.test(d)), `${tag} ALB waits for the bucket policy before logging`);
  }

  // Monitoring
  {
    const { mod, scope } = calls.monitoring;
    const r = (x) => resolve(x, scope);
    const alarms = res(mod, "aws_cloudwatch_metric_alarm").map((a) => r(a.alarm_name));
    for (const s of seven) {
      const name = `${want.dashboard}-${s}`;
      check(alarms.includes(name), `${tag} alarm ${name}`, alarms);
    }
    const dash = res(mod, "aws_cloudwatch_dashboard").map((d) => r(d.dashboard_name));
    check(dash.includes(want.dashboard), `${tag} dashboard ${want.dashboard}`, dash);
    const byName = Object.fromEntries(res(mod, "aws_cloudwatch_metric_alarm").map((a) => [r(a.alarm_name), a]));
    const err = byName[`${want.dashboard}-high-error-rate`] || {};
    const q = JSON.stringify(err.metric_query || []);
    check(/HTTPCode_Target_5XX_Count/.test(q) && /RequestCount/.test(q) && /"expression"/.test(q) && r(err.threshold) === 5,
      `${tag} error-rate alarm is metric math 5xx/requests over 5%`);
    const lat = byName[`${want.dashboard}-high-latency`] || {};
    check(lat.metric_name === "TargetResponseTime" && lat.extended_statistic === "p95" && r(lat.threshold) === 1,
      `${tag} latency alarm is p95 TargetResponseTime over 1 s`);
    // The load balancer's own 5xx (502/503/504), beside the target 5xx rate.
    const elb = byName[`${want.dashboard}-elb-5xx`] || {};
    const elbQ = JSON.stringify(elb.metric_query || []);
    check(/HTTPCode_ELB_5XX_Count/.test(elbQ) && /"expression"/.test(elbQ) && /local\.alb_dimensions/.test(elbQ) &&
      typeof r(elb.threshold) === "number", `${tag} alarm ${want.dashboard}-elb-5xx on HTTPCode_ELB_5XX_Count`, elbQ.slice(0, 200));
    // The database: CPU, free storage, connections, on the service's instance.
    const dbAlarms = {
      "db-high-cpu": ["CPUUtilization", "GreaterThanThreshold"],
      "db-low-storage": ["FreeStorageSpace", "LessThanThreshold"],
      "db-high-connections": ["DatabaseConnections", "GreaterThanThreshold"],
    };
    for (const [suffix, [metric, op]] of Object.entries(dbAlarms)) {
      const a = byName[`${want.dashboard}-${suffix}`] || {};
      check(a.namespace === "AWS/RDS" && a.metric_name === metric && a.comparison_operator === op &&
        a.dimensions === "${local.db_dimensions}" && mod.locals.db_dimensions?.DBInstanceIdentifier === "${var.db_instance_id}",
        `${tag} alarm ${want.dashboard}-${suffix} on RDS ${metric}`, { namespace: a.namespace, metric: a.metric_name });
    }
    check(calls.monitoring.inputs.db_instance_id === "${module.database.instance_id}",
      `${tag} database alarms watch the database module's instance`, calls.monitoring.inputs.db_instance_id);
    // Replica lag: needed exactly when the database module has a read replica.
    const replicas = res(calls.database.mod, "aws_db_instance").filter((d) => d.replicate_source_db !== undefined);
    const lagAlarms = res(mod, "aws_cloudwatch_metric_alarm").filter((a) => a.metric_name === "ReplicaLag");
    check(replicas.length === 0 || lagAlarms.length > 0, `${tag} a replica-lag alarm if the database has a read replica`,
      { replicas: replicas.length, lagAlarms: lagAlarms.length });
    // Every alarm notifies the topic of its severity.
    const unrouted = res(mod, "aws_cloudwatch_metric_alarm")
      .map((a) => String(a.alarm_actions).match(/local\.alarm_actions\["([^"]+)"\]/))
      .filter((m) => !m || !(m[1] in (mod.locals.default_severity || {})))
      .map((m) => (m ? m[1] : "?"));
    check(unrouted.length === 0, `${tag} every alarm has a severity`, unrouted);
    const topics = JSON.stringify(mod.resource.aws_sns_topic || {});
    check(["critical", "high", "medium", "low"].every((s) => topics.includes(s)), `${tag} SNS topic per severity`);
    const sev = mod.locals.default_severity || {};
    check(sev["no-healthy-hosts"] === "critical" && sev["high-error-rate"] === "high" && sev["high-latency"] === "high" &&
      sev["high-cpu"] === "medium" && sev["high-memory"] === "medium",
      `${tag} alarm severities follow the runbook table`, sev);
    const subs = mod.resource.aws_sns_topic_subscription || {};
    check(/critical/.test(JSON.stringify(subs.pagerduty || {})) && /"high", "medium"|high.*medium/.test(JSON.stringify(subs.slack || {})) &&
      /low/.test(JSON.stringify(subs.email || {})),
      `${tag} critical -> PagerDuty, high/medium -> Slack, low -> email`);
  }

  // Database
  {
    const { mod, scope } = calls.database;
    const r = (x) => resolve(x, scope);
    const db = res(mod, "aws_db_instance")[0] || {};
    check(db.engine === "postgres", `${tag} RDS PostgreSQL`);
    check(r(db.multi_az) === want.multiAz, `${tag} RDS Multi-AZ ${want.multiAz}`, r(db.multi_az));
    check(db.storage_encrypted === true && db.publicly_accessible === false, `${tag} RDS encrypted and private`);
    const secrets = res(mod, "aws_secretsmanager_secret").map((s) => r(s.name));
    check(secrets.some((s) => /DATABASE_URL/.test(String(s))), `${tag} DATABASE_URL secret`, secrets);
    // Password rotation happens outside Terraform (RUNBOOK "Rotate the
    // Database Password"); an apply must not write the old password back.
    const ignored = (x) => [].concat(first(x.lifecycle).ignore_changes || []).map(String);
    const version = res(mod, "aws_secretsmanager_secret_version")[0] || {};
    check(ignored(db).some((v) => /password/.test(v)) && ignored(version).some((v) => /secret_string/.test(v)),
      `${tag} a rotated database password survives terraform apply (ignore_changes)`, { db: ignored(db), secret: ignored(version) });
  }
}

process.exit(failures ? 1 : 0);
