#!/usr/bin/env bash
# make dev: build, then serve the Worker API and the checkout page on 127.0.0.1:8787 with local KV
# and Durable Objects persisted under .wrangler/state, and publish the demo manifest signed with a
# local dev key through the admin API (PUT /admin/manifest) once it answers, then the demo user's
# profile (PUT /admin/users/{id}); beside it, the shop backend stand-in (scripts/demo-shop.mjs) on
# 127.0.0.1:8788, which signs the demo shopper's tokens and confirms the page's reservations.
source "$(dirname "$0")/common.sh"

DEMO="${DEMO_MANIFEST:-docs/examples/demo-manifest.json}"
PORT="${PORT:-8787}"
SHOP_PORT=8788 # www/shop.json's "backend"
[ -f "$DEMO" ] || die "no demo manifest at $DEMO (the payload 'make dev' signs and serves)"

bash scripts/build-pkg.sh || [ $? -eq 3 ] # an over-size package still serves

mkdir -p .dev www/pkg
KEY=.dev/dev-signing-key.jwk.json
JWKS=.dev/dev-jwks.json
if [ ! -f "$KEY" ] || [ ! -f "$JWKS" ]; then
  echo "dev: generating a local Ed25519 dev key in $KEY (kid dev-key-1)"
  node scripts/sign-manifest.mjs --generate-key "$KEY" --jwks "$JWKS" --kid dev-key-1
fi
# The shop's shopper-token key (its backend signs who the shopper is; the Worker checks with the
# public half, SHOPPER_JWKS): the same generator as the manifest key, another kid.
SHOPPER_KEY=.dev/shopper-signing-key.jwk.json
SHOPPER_JWKS=.dev/shopper-jwks.json
if [ ! -f "$SHOPPER_KEY" ] || [ ! -f "$SHOPPER_JWKS" ]; then
  echo "dev: generating the shop's shopper-token key in $SHOPPER_KEY (kid shopper-dev-1)"
  node scripts/sign-manifest.mjs --generate-key "$SHOPPER_KEY" --jwks "$SHOPPER_JWKS" --kid shopper-dev-1
fi
# Local secrets, made once: the admin token, the code MAC key (base64url of 32 random bytes) and the
# shop's server credential (REDEEM_TOKEN: confirms and reverts reservations).
random() { node -e "process.stdout.write(require('crypto').randomBytes($1).toString('base64url'))"; }
[ -f .dev/admin-token ] || random 24 > .dev/admin-token
[ -f .dev/code-mac.key ] || random 32 > .dev/code-mac.key
[ -f .dev/redeem-token ] || random 24 > .dev/redeem-token
chmod 600 .dev/admin-token .dev/code-mac.key .dev/redeem-token
ADMIN_TOKEN="$(cat .dev/admin-token)"

# Fresh validity window on every start: issued now, expires in 30 days.
node scripts/sign-manifest.mjs --key "$KEY" --valid-days 30 "$DEMO" > .dev/manifest.jws
# The page loads the same package the Worker runs.
cp pkg/edge_coupons.js pkg/edge_coupons_handoff.js pkg/edge_coupons_bg.wasm www/pkg/
# The console's chart library (Chart.js, from node_modules) into www/vendor/: served with the pages.
node scripts/vendor.mjs

wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to .wrangler/state \
  --var "MANIFEST_JWKS:$(tr -d '\n' < "$JWKS")" --var "ADMIN_TOKEN:$ADMIN_TOKEN" \
  --var "CODE_MAC_KEY:$(cat .dev/code-mac.key)" \
  --var DEV_MODE:true --var "SHOPPER_JWKS:$(tr -d '\n' < "$SHOPPER_JWKS")" --var "REDEEM_TOKEN:$(cat .dev/redeem-token)" &
WRANGLER=$!
SHOP=
stop() {
  [ -z "$SHOP" ] || kill "$SHOP" 2>/dev/null
  kill "$WRANGLER" 2>/dev/null
  wait 2>/dev/null
}
trap stop INT TERM EXIT

for _ in $(seq 1 300); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/jwks" && break
  kill -0 "$WRANGLER" 2>/dev/null || die "wrangler dev exited"
  sleep 0.2
done
status=$(curl -s -o .dev/publish.json -w '%{http_code}' -X PUT "http://127.0.0.1:$PORT/admin/manifest" \
  -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/jose' --data-binary @.dev/manifest.jws)
[ "$status" = 201 ] || die "publishing the demo manifest failed ($status): $(cat .dev/publish.json)"
echo "dev: published $(cat .dev/publish.json)"
# The Worker prices with stored user profiles only (docs/worker.md): store the demo shop's signed-in
# user (www/shop.json) as its profile, so the page and the Worker see the same tier and orders.
USER_PATH=$(node -e '
  const u = JSON.parse(require("fs").readFileSync("www/shop.json", "utf8")).user.context;
  const profile = Object.fromEntries(["properties", "segments", "events"].filter((k) => u[k] !== undefined).map((k) => [k, u[k]]));
  require("fs").writeFileSync(".dev/user.json", JSON.stringify(profile));
  process.stdout.write("/admin/users/" + encodeURIComponent(u.id));')
status=$(curl -s -o .dev/user-stored.json -w '%{http_code}' -X PUT "http://127.0.0.1:$PORT$USER_PATH" \
  -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' --data-binary @.dev/user.json)
[ "$status" = 200 ] || die "storing the demo user profile failed ($status): $(cat .dev/user-stored.json)"
echo "dev: stored the profile $(cat .dev/user-stored.json)"
# The demo's comeback-15 is given by cart_abandoned events with a code from its pool (docs/worker.md,
# Events): keep at least 10 codes there, so an event sent in dev gets one.
POOL="http://127.0.0.1:$PORT/admin/coupons/comeback-15/pool"
available=$(curl -fs -H "authorization: Bearer $ADMIN_TOKEN" "$POOL" | node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0, "utf8")).available ?? 0))')
if [ "${available:-0}" -lt 10 ]; then
  node -e '
    const abc = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    const code = () => "BACK" + Array.from(require("crypto").randomBytes(8), (b) => abc[b % 32]).join("");
    process.stdout.write("code\n" + Array.from({ length: 20 }, code).join("\n") + "\n");' > .dev/pool.csv
  status=$(curl -s -o .dev/pool.json -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/admin/coupons/comeback-15/codes?pool=true" \
    -H "authorization: Bearer $ADMIN_TOKEN" -H 'content-type: text/csv' --data-binary @.dev/pool.csv)
  [ "$status" = 201 ] || die "filling the comeback-15 code pool failed ($status): $(cat .dev/pool.json)"
  echo "dev: code pool $(cat .dev/pool.json)"
fi
# The shop's backend stand-in: the page gets its shopper token from GET /session and pays through
# POST /orders, which confirms the reservation at the Worker with REDEEM_TOKEN.
node scripts/demo-shop.mjs --port "$SHOP_PORT" --worker "http://127.0.0.1:$PORT" --key "$SHOPPER_KEY" \
  --redeem-token-file .dev/redeem-token --shop www/shop.json \
  --allow-origin "http://127.0.0.1:$PORT" --allow-origin "http://localhost:$PORT" &
SHOP=$!
echo "dev: serving http://127.0.0.1:$PORT (admin token in .dev/admin-token; Ctrl-C stops)"
echo "dev: the shop backend stand-in runs on http://127.0.0.1:$SHOP_PORT (scripts/demo-shop.mjs: GET /session, POST /orders)"
echo "dev: a shopper token (15 min) for the demo user, to call the Worker as them with 'authorization: Bearer <token>':"
echo "       node scripts/demo-shop.mjs --key $SHOPPER_KEY --mint $(node -p 'JSON.parse(require("fs").readFileSync("www/shop.json", "utf8")).user.context.id')"
echo "dev: the shop's server credential (confirm, revert, GET /redemptions/{id}) is in .dev/redeem-token"
echo "dev: publish your own manifest: sign it with the dev key (kid dev-key-1), then PUT it:"
echo "       node scripts/sign-manifest.mjs --key $KEY --valid-days 30 my-manifest.json > .dev/my.jws"
echo "       curl -X PUT http://127.0.0.1:$PORT/admin/manifest -H \"authorization: Bearer \$(cat .dev/admin-token)\" \\"
echo "         -H 'content-type: application/jose' --data-binary @.dev/my.jws"
echo "     (or: cargo run -q --features cli --bin couponctl -- sign --key $KEY my-manifest.json --out .dev/my.jws --force,"
echo "      which also fills the offset table of the IANA time zones the manifest names)"
echo "dev: try another day: curl -X POST http://127.0.0.1:$PORT/evaluate -H 'x-dev-now: 2026-12-05T10:00:00Z' -H 'content-type: application/json' -d '{\"cart\": ...}'"
wait "$WRANGLER"
