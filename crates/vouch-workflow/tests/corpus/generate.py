#!/usr/bin/env python3
"""Writes the workflow corpus (workflows/*.yml, actions/*/action.yml).

The corpus is ours: each file is written from the patterns popular projects use (CI per
ecosystem, tag releases, cloud deploys with static keys or OIDC, pull_request_target bots,
issue triage, workflow_run follow-ups, package publishing, matrix builds with caches), crossed
with the mistakes the workflow/* audits look for. Output is deterministic; rerun after editing
and commit the result. `hand/` holds hand-written edge cases that are copied as they are.
"""
import hashlib
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))


def sha(name):
    return hashlib.sha1(name.encode()).hexdigest()


def pin(action, tag, pinned):
    return f"{action}@{sha(action + tag)} # {tag}" if pinned else f"{action}@{tag}"


ECOS = {
    "rust": dict(
        setup=lambda p: [f"uses: {pin('dtolnay/rust-toolchain', 'stable', p)}",
                         f"uses: {pin('Swatinem/rust-cache', 'v2', p)}"],
        test=["cargo fmt --check", "cargo clippy --all-targets -- -D warnings", "cargo test --locked"],
        build="cargo build --release",
        publish="cargo publish --token ${{ secrets.CARGO_REGISTRY_TOKEN }}",
    ),
    "node": dict(
        setup=lambda p: ["uses: actions/setup-node@v4\n        with:\n          node-version: 20\n          cache: npm"],
        test=["npm ci", "npm run lint", "npm test"],
        build="npm run build",
        publish="npm publish --provenance --access public",
    ),
    "python": dict(
        setup=lambda p: ["uses: actions/setup-python@v5\n        with:\n          python-version: '3.12'\n          cache: pip"],
        test=["pip install -e '.[test]'", "pytest -q"],
        build="python -m build",
        publish="twine upload dist/*",
    ),
    "go": dict(
        setup=lambda p: ["uses: actions/setup-go@v5\n        with:\n          go-version-file: go.mod"],
        test=["go vet ./...", "go test -race ./..."],
        build="go build ./cmd/...",
        publish="goreleaser release --clean",
    ),
    "java": dict(
        setup=lambda p: ["uses: actions/setup-java@v4\n        with:\n          distribution: temurin\n          java-version: '21'\n          cache: gradle"],
        test=["./gradlew check"],
        build="./gradlew assemble",
        publish="./gradlew publish",
    ),
    "docker": dict(
        setup=lambda p: [f"uses: {pin('docker/setup-buildx-action', 'v3', p)}"],
        test=["docker build -t app:test .", "docker run --rm app:test /app/selftest"],
        build="docker build -t app .",
        publish="docker push ghcr.io/example/app:${{ github.sha }}",
    ),
    "ruby": dict(
        setup=lambda p: [f"uses: {pin('ruby/setup-ruby', 'v1', p)}\n        with:\n          ruby-version: '3.3'\n          bundler-cache: true"],
        test=["bundle exec rake test"],
        build="gem build *.gemspec",
        publish="gem push *.gem",
    ),
    "dotnet": dict(
        setup=lambda p: ["uses: actions/setup-dotnet@v4\n        with:\n          dotnet-version: '8.0.x'"],
        test=["dotnet test"],
        build="dotnet pack -c Release",
        publish="dotnet nuget push *.nupkg --api-key ${{ secrets.NUGET_KEY }}",
    ),
    "php": dict(
        setup=lambda p: [f"uses: {pin('shivammathur/setup-php', 'v2', p)}\n        with:\n          php-version: '8.3'"],
        test=["composer install --no-progress", "vendor/bin/phpunit"],
        build="composer archive",
        publish="echo publish via packagist webhook",
    ),
    "deno": dict(
        setup=lambda p: [f"uses: {pin('denoland/setup-deno', 'v2', p)}"],
        test=["deno lint", "deno test -A"],
        build="deno task build",
        publish="deno publish",
    ),
}


def steps(lines, indent=6):
    pad = " " * indent
    out = []
    for l in lines:
        if l.startswith("uses:") or l.startswith("run:") or l.startswith("name:") or l.startswith("env:") or l.startswith("if:"):
            out.append(f"{pad}- {l}")
        else:
            out.append(f"{pad}- run: {l}")
    return "\n".join(out)


def ci(eco, e, pinned, perms):
    head = f"name: {eco} ci\n\non:\n  push:\n    branches: [main]\n  pull_request:\n\n"
    if perms:
        head += "permissions:\n  contents: read\n\n"
    return head + f"""jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
{steps(e['setup'](pinned))}
{steps(e['test'])}
  coverage:
    runs-on: ubuntu-latest
    needs: test
    steps:
      - uses: actions/checkout@v4
{steps(e['setup'](pinned))}
      - run: {e['build']}
      - uses: {pin('codecov/codecov-action', 'v4', pinned)}
        with:
          token: ${{{{ secrets.CODECOV_TOKEN }}}}
"""


def release(eco, e, pinned):
    return f"""name: release

on:
  push:
    tags: ['v*']

permissions:
  contents: write

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
{steps(e['setup'](pinned))}
      - run: {e['build']}
      - uses: actions/upload-artifact@v4
        with:
          name: dist
          path: dist/
  release:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: dist
      - uses: {pin('softprops/action-gh-release', 'v2', pinned)}
        with:
          files: dist/*
          body: Release ${{{{ github.ref_name }}}}
"""


def deploy_static(eco, e, pinned):
    return f"""name: deploy

on:
  push:
    branches: [main]
  workflow_dispatch:

env:
  AWS_REGION: eu-west-1

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
{steps(e['setup'](pinned))}
      - run: {e['build']}
  deploy:
    needs: build
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Configure AWS credentials
        uses: {pin('aws-actions/configure-aws-credentials', 'v4', pinned)}
        with:
          aws-access-key-id: ${{{{ secrets.AWS_ACCESS_KEY_ID }}}}
          aws-secret-access-key: ${{{{ secrets.AWS_SECRET_ACCESS_KEY }}}}
          aws-region: ${{{{ env.AWS_REGION }}}}
      - run: aws s3 sync ./public s3://example-site --delete
      - run: aws cloudfront create-invalidation --distribution-id ${{{{ secrets.CF_DIST }}}} --paths '/*'
"""


def deploy_oidc(eco, e, pinned):
    cloud = {
        0: ("aws-actions/configure-aws-credentials", "v4", "role-to-assume: arn:aws:iam::123456789012:role/deploy\n          aws-region: eu-west-1", "aws ecs update-service --cluster prod --service app --force-new-deployment"),
        1: ("google-github-actions/auth", "v2", "workload_identity_provider: projects/1/locations/global/workloadIdentityPools/gh/providers/gh\n          service_account: deploy@example.iam.gserviceaccount.com", "gcloud run deploy app --image gcr.io/example/app:${{ github.sha }}"),
        2: ("azure/login", "v2", "client-id: ${{ secrets.AZURE_CLIENT_ID }}\n          tenant-id: ${{ secrets.AZURE_TENANT_ID }}\n          subscription-id: ${{ secrets.AZURE_SUBSCRIPTION_ID }}", "az webapp deploy --name app --src-path app.zip"),
    }[len(eco) % 3]
    return f"""name: deploy production

on:
  push:
    branches: [main]

permissions: {{}}

jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: actions/checkout@v4
{steps(e['setup'](True))}
      - run: {e['build']}
      - uses: {pin(cloud[0], cloud[1], True)}
        with:
          {cloud[2]}
      - run: {cloud[3]}
"""


def pr_target(eco, e, pinned, same_repo):
    guard = "\n    if: github.event.pull_request.head.repo.full_name == github.repository" if same_repo else ""
    return f"""name: pr preview

on:
  pull_request_target:
    types: [opened, synchronize]

permissions:
  contents: read
  pull-requests: write

jobs:
  preview:
    runs-on: ubuntu-latest{guard}
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{{{ github.event.pull_request.head.sha }}}}
{steps(e['setup'](pinned))}
{steps(e['test'])}
      - uses: {pin('marocchino/sticky-pull-request-comment', 'v2', pinned)}
        with:
          message: Preview for ${{{{ github.event.pull_request.head.sha }}}} is ready
"""


def triage(eco, e, pinned, safe):
    if safe:
        body = """      - name: Greet
        env:
          TITLE: ${{ github.event.issue.title }}
          AUTHOR: ${{ github.event.issue.user.login }}
        run: |
          echo "New issue from $AUTHOR: $TITLE"""
    else:
        body = """      - name: Greet
        run: |
          echo "New issue: ${{ github.event.issue.title }}"
          echo "by ${{ github.event.issue.user.login }} (#${{ github.event.issue.number }})"
      - name: Check body
        run: |
          if echo "${{ github.event.issue.body }}" | grep -q crash; then
            gh issue edit ${{ github.event.issue.number }} --add-label crash
          fi
        env:
          GH_TOKEN: ${{ github.token }}"""
    return f"""name: triage

on:
  issues:
    types: [opened]
  issue_comment:
    types: [created]

permissions:
  issues: write

jobs:
  label:
    runs-on: ubuntu-latest
    steps:
{body}
      - uses: actions/github-script@v7
        with:
          script: |
            const body = context.payload.comment ? context.payload.comment.body : '';
            console.log(`comment: ${{{{ github.event.comment.body }}}}`);
"""


def workflow_run(eco, e, pinned):
    return f"""name: report

on:
  workflow_run:
    workflows: [{eco} ci]
    types: [completed]

permissions:
  actions: read
  pull-requests: write

jobs:
  report:
    runs-on: ubuntu-latest
    if: github.event.workflow_run.conclusion == 'success'
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: report
          run-id: ${{{{ github.event.workflow_run.id }}}}
          github-token: ${{{{ github.token }}}}
      - run: bash ./report/post.sh "${{{{ github.event.workflow_run.head_branch }}}}"
      - uses: actions/cache@v4
        with:
          path: ~/.cache/report
          key: report-cache
"""


def publish(eco, e, pinned, write_all):
    perms = "permissions: write-all\n" if write_all else "permissions:\n  contents: read\n  id-token: write\n"
    return f"""name: publish

on:
  release:
    types: [published]

{perms}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
{steps(e['setup'](pinned))}
{steps(e['test'])}
  publish:
    needs: test
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
{steps(e['setup'](pinned))}
      - run: {e['build']}
      - run: {e['publish']}
        env:
          NODE_AUTH_TOKEN: ${{{{ secrets.NPM_TOKEN }}}}
"""


def matrix(eco, e, pinned):
    return f"""name: matrix

on:
  push:
  pull_request:
  schedule:
    - cron: '17 3 * * 1'

permissions:
  contents: read

jobs:
  test:
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu-latest, macos-latest, windows-latest]
    runs-on: ${{{{ matrix.os }}}}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/cache@v4
        with:
          path: |
            ~/.cache
            target
          key: ${{{{ runner.os }}}}-{eco}-deps
          restore-keys: ${{{{ runner.os }}}}-
{steps(e['setup'](pinned))}
{steps(e['test'])}
      - name: Branch info
        run: echo "Testing ${{{{ github.head_ref }}}} on ${{{{ matrix.os }}}}"
"""


def main():
    wf = os.path.join(HERE, "workflows")
    shutil.rmtree(wf, ignore_errors=True)
    os.makedirs(wf)
    files = {}
    for i, (eco, e) in enumerate(sorted(ECOS.items())):
        pinned = i % 2 == 0
        files[f"{eco}-ci.yml"] = ci(eco, e, pinned, perms=True)
        files[f"{eco}-ci-unpinned.yml"] = ci(eco, e, False, perms=False)
        files[f"{eco}-release.yml"] = release(eco, e, pinned)
        files[f"{eco}-deploy-static-keys.yml"] = deploy_static(eco, e, pinned)
        files[f"{eco}-deploy-oidc.yml"] = deploy_oidc(eco, e, pinned)
        files[f"{eco}-pr-target.yml"] = pr_target(eco, e, pinned, same_repo=i % 3 == 0)
        files[f"{eco}-triage.yml"] = triage(eco, e, pinned, safe=i % 3 == 1)
        files[f"{eco}-workflow-run.yml"] = workflow_run(eco, e, pinned)
        files[f"{eco}-publish.yml"] = publish(eco, e, pinned, write_all=i % 2 == 1)
        files[f"{eco}-matrix.yml"] = matrix(eco, e, pinned)
    for name, text in files.items():
        with open(os.path.join(wf, name), "w") as f:
            f.write(text)
    hand = os.path.join(HERE, "hand")
    if os.path.isdir(hand):
        for name in sorted(os.listdir(hand)):
            shutil.copy(os.path.join(hand, name), os.path.join(wf, "hand-" + name))
    print(f"{len(os.listdir(wf))} workflows")


if __name__ == "__main__":
    main()
