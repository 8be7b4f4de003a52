#!/usr/bin/env bash
# Offline checks of the deployment files:
#  - every terraform/**/*.tf parses with HashiCorp's HCL parser
#    (@cdktf/hcl2json) and holds the names and settings the runbook uses
#    (check-terraform.mjs);
#  - every .github/workflows/*.yml validates with action-validator;
#  - deploy.yml's steps, their order and commands (deploy, post-deploy check,
#    rollback), the Dockerfile's and CMake's version plumbing
#    (check-deploy-workflow.mjs, which parses the YAML).
# Node packages are installed from tests/deploy/package-lock.json into
# tests/deploy/node_modules (skipped when already up to date).
# Prints one PASS/FAIL line per check and "N passed, M failed" at the end;
# exits non-zero on any failure.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

passed=0
failed=0
tally() {
  # Count PASS/FAIL lines of a check's output, passing them through.
  local line
  while IFS= read -r line; do
    echo "$line"
    case "$line" in
      PASS:*) passed=$((passed + 1)) ;;
      FAIL:*) failed=$((failed + 1)) ;;
    esac
  done
}
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "FAIL: node and npm are installed"
  failed=$((failed + 1))
  finish
fi

# ---------------------------------------------------------------- npm ci, once
stamp="$here/node_modules/.package-lock.stamp"
lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ] ||
  [ ! -d "$here/node_modules/@cdktf/hcl2json" ] || [ ! -d "$here/node_modules/@action-validator/core" ] ||
  [ ! -d "$here/node_modules/yaml" ]; then
  if (cd "$here" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts >/dev/null 2>"$here/.npm-ci.log"); then
    echo "$lock_sum" >"$stamp"
    rm -f "$here/.npm-ci.log"
  else
    cat "$here/.npm-ci.log" >&2
    rm -f "$here/.npm-ci.log"
    echo "FAIL: npm ci in tests/deploy"
    failed=$((failed + 1))
    finish
  fi
fi

# ---------------------------------------------------------------- Terraform
cd "$here" || exit 1
tally < <(node "$here/check-terraform.mjs" "$repo/terraform" 2>&1; rc=$?
  [ "$rc" -le 1 ] || echo "FAIL: check-terraform.mjs crashed (exit $rc)")

# ---------------------------------------------------------------- workflows
shopt -s nullglob
workflows=("$repo"/.github/workflows/*.yml "$repo"/.github/workflows/*.yaml)
if [ "${#workflows[@]}" -eq 0 ]; then
  echo "FAIL: .github/workflows has workflow files"
  failed=$((failed + 1))
fi
for wf in "${workflows[@]}"; do
  rel="${wf#"$repo"/}"
  if out="$(node "$here/node_modules/@action-validator/cli/cli.mjs" "$wf" 2>&1)"; then
    echo "PASS: action-validator: $rel"
    passed=$((passed + 1))
  else
    echo "FAIL: action-validator: $rel"
    echo "$out" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done

# Workflow contents the runbook's deploy and rollback procedures rely on.
has() {
  local file="$1" pattern="$2" what="$3"
  if [ -f "$file" ] && grep -Eq -- "$pattern" "$file"; then
    echo "PASS: $what"
    passed=$((passed + 1))
  else
    echo "FAIL: $what"
    failed=$((failed + 1))
  fi
}
ci="$repo/.github/workflows/ci.yml"
deploy="$repo/.github/workflows/deploy.yml"
has "$ci" 'bash \.ci/run' "ci.yml runs bash .ci/run"
has "$ci" 'pull_request' "ci.yml runs on pull requests"
has "$deploy" "tags:" "deploy.yml triggers on version tags"
has "$deploy" "'v\\*'|\"v\\*\"|- v\\*" "deploy.yml tag pattern is v*"
has "$deploy" 'aws-actions/configure-aws-credentials@' "deploy.yml configures AWS credentials"
has "$deploy" 'role-to-assume' "deploy.yml assumes a role through OIDC"
has "$deploy" 'id-token: write' "deploy.yml may request an OIDC token"
has "$deploy" 'docker build' "deploy.yml builds the image"
has "$deploy" 'docker push' "deploy.yml pushes the image"
has "$deploy" 'terraform init' "deploy.yml runs terraform init"
has "$deploy" 'terraform apply -auto-approve .*-var="image_tag=' "deploy.yml applies with image_tag"
has "$deploy" 'terraform/environments/prod' "deploy.yml deploys prod from terraform/environments/prod"
has "$deploy" 'terraform/environments/staging' "deploy.yml deploys staging from terraform/environments/staging"
has "$deploy" 'ioanyt-prod' "deploy.yml targets cluster ioanyt-prod"
has "$deploy" 'aws ecs wait services-stable' "deploy.yml waits for services-stable"
has "$deploy" 'aws ecs update-service' "deploy.yml rolls back with update-service"
has "$deploy" 'failure\(\)' "deploy.yml rolls back only on failure"

# Steps, order and commands of deploy.yml; the version build argument.
tally < <(node "$here/check-deploy-workflow.mjs" "$repo" 2>&1; rc=$?
  [ "$rc" -le 1 ] || echo "FAIL: check-deploy-workflow.mjs crashed (exit $rc)")

finish
