#!/usr/bin/env bash
# rx-multipart/nest on Nest 11, CommonJS: packs this repository as it would be published, installs
# the tarball with @nestjs/*@11 into a temporary copy of this fixture, compiles the same
# application and scenarios as the Nest 12 spec (spec/nest/apps/upload-app.mts,
# spec/nest/scenarios.ts) to CommonJS with TypeScript 5, and runs them on Express and Fastify.
# Also checks that the ESM build of rx-multipart/nest imports against Nest 11's CommonJS packages.
# Prints the matrix; exits non-zero if anything failed. Needs the npm registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== pack rx-multipart"
(cd "$repo" && npm run build --silent >/dev/null && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$(ls "$work"/rx-multipart-*.tgz)"

echo "== fixture in $work/app"
mkdir -p "$work/app/src"
cp "$here/package.json" "$here/tsconfig.json" "$work/app/"
cp "$here/driver.ts" "$repo/spec/nest/scenarios.ts" "$repo/spec/nest/app-process.ts" "$repo/spec/nest/matrix.ts" "$work/app/src/"
# The folder reader the scenarios import from spec/support, beside them here.
cp "$repo/spec/support/disk-folder.ts" "$work/app/src/"
sed -i "s#'../support/disk-folder'#'./disk-folder'#" "$work/app/src/scenarios.ts"
# The one application source, compiled to CommonJS here (it has no relative import).
cp "$repo/spec/nest/apps/upload-app.mts" "$work/app/src/upload-app.ts"
cd "$work/app"
npm install --no-fund --no-audit --loglevel=error "$tarball"
echo "Nest $(node -p "require('@nestjs/core/package.json').version"), TypeScript $(npx tsc --version)"

echo "== tsc (CommonJS, experimentalDecorators, skipLibCheck false)"
npx tsc -p tsconfig.json

echo "== import('rx-multipart/nest') (the ESM build) against Nest 11"
node --input-type=module -e "import { MultipartInterceptor, MultipartModule, UploadedParts } from 'rx-multipart/nest'; if (typeof MultipartInterceptor().prototype.intercept !== 'function' || typeof MultipartModule.register !== 'function' || typeof UploadedParts !== 'function') process.exit(1); console.log('ok');"

echo "== scenarios"
mkdir -p "$repo/artifacts"
NEST_MATRIX_OUT="${NEST_MATRIX_OUT:-$repo/artifacts/nest-matrix-nest11.md}" node dist/driver.js
