#!/usr/bin/env bash
# The toolkit under Deno, beyond the core's tests: the HTTP server (loopback), the
# onnxruntime-web backend without a native addon, the demo (JS and ONNX experts) and generate
# on generated fixture folders, whose images must be the bytes Node writes.
# Permissions: --allow-ffi only where onnxruntime-node is meant to load.
set -euo pipefail
cd "$(dirname "$0")/.."
DENO=node_modules/.bin/deno
BASE=(--allow-read --allow-write --allow-env --allow-sys)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$DENO" test "${BASE[@]}" --allow-net --allow-ffi test-deno/server_test.ts
"$DENO" test "${BASE[@]}" test-deno/web_backend_test.ts

"$DENO" run "${BASE[@]}" src/cli/main.ts demo --prompts 2 --samples 2 --steps 10 --s 4 --out "$tmp/demo-js" --no-progress >/dev/null
"$DENO" run "${BASE[@]}" src/cli/main.ts demo --backend onnx --prompts 2 --samples 2 --steps 10 --s 4 --out "$tmp/demo-onnx" --no-progress >/dev/null

# examples/jobs/sd-tiny.json reads out/sd-tiny and out/sd-tiny-2
"$DENO" run "${BASE[@]}" fixtures/sd-tiny.ts out/sd-tiny >/dev/null
"$DENO" run "${BASE[@]}" fixtures/sd-tiny.ts out/sd-tiny-2 --seed 2 >/dev/null
"$DENO" run "${BASE[@]}" src/cli/main.ts generate examples/jobs/sd-tiny.json --output "$tmp/gen-deno-web" --no-progress
"$DENO" run "${BASE[@]}" --allow-ffi src/cli/main.ts generate examples/jobs/sd-tiny.json --backend node --output "$tmp/gen-deno-node" --no-progress
npx tsx src/cli/main.ts generate examples/jobs/sd-tiny.json --output "$tmp/gen-node" --no-progress
for f in target.png after-aggregation-1-tiny-b.png sheet.png; do
  cmp "$tmp/gen-node/$f" "$tmp/gen-deno-web/$f"
  cmp "$tmp/gen-node/$f" "$tmp/gen-deno-node/$f"
done
echo "deno toolkit checks passed"
