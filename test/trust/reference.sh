#!/usr/bin/env bash
# (Berth keeps this copy of the team's reference Docker Content Trust flows, shared/trust/reference.sh,
# so its end-to-end test runs the very same client steps against Berth.)
# Reference Docker Content Trust setup: notary-server + notary-signer (TLS, memory
# storage) + docker-registry, a logging TLS proxy in front of notary-server, and
# an end-to-end exercise with the real docker CLI (>= 20.10, tested with 28.2.2)
# and the real notary CLI (0.7.0).
#
# Usage: reference.sh [all|clean|certs|config|start|docker|notary|rootwalk|auth|report|stop|status]...
#   all      = stop (own pids) + clean + certs + config + start + docker + notary + rootwalk + auth + report
#   docker   = real docker CLI flow (trusted push, trust inspect/sign/key/signer/revoke, trusted pulls)
#   notary   = real notary CLI flow (list/init/publish/add/key rotate/delegations/delete) + raw curl probes
#   rootwalk = root key rotation, then a client with a stale cached root (fetches <N>.root.json)
#   auth     = token-auth variant (node token server + 2nd notary-server with auth, local ed25519 signer)
#   report   = write $BASE/out/traffic-table.txt (+ traffic-auth-table.txt) from the proxy logs
# Exit status is non-zero if any step that should succeed fails (set -e), or a step that should
# fail succeeds. Servers are left running after "all"; "stop" kills exactly the PIDs it recorded.
#
# Ports (all on 127.0.0.1):
#   4441 notary-signer gRPC (mTLS)    4444 notary-server HTTPS (direct)
#   4443 logging proxy HTTPS -> 4444  (the trust URL clients use)
#   5010 docker-registry (plain HTTP; dockerd treats 127.0.0.0/8 as insecure)
#   4445 notary-server with token auth, 4446 logging proxy for it, 5011 token server (auth mode)
#
# Requirements: notary, notary-server, notary-signer, docker-registry, openssl, node,
# a docker daemon (DOCKER_HOST) that already has $SRC_IMAGE.
set -euo pipefail

BASE=${BASE:-${TMPDIR:-/tmp}/trust-ref}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CERTS=$BASE/certs
CONF=$BASE/config
LOGS=$BASE/logs
PIDS=$BASE/pids
export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
DOCKER=${DOCKER:-docker}
SRC_IMAGE=${SRC_IMAGE:-127.0.0.1:5001/library/busybox:1}
# Override REG / TRUST_URL to run the client flows (docker, notary, rootwalk) against another
# implementation, e.g.:  TRUST_URL=https://127.0.0.1:4447 REG=127.0.0.1:5012 ./reference.sh certs config docker notary rootwalk
REG=${REG:-127.0.0.1:5010}
NS=${NS:-test}   # repository namespace: change it to re-run against a server that already has state
REPO=$REG/$NS/busybox
TRUST_URL=${TRUST_URL:-https://127.0.0.1:4443}   # default: the logging proxy in front of notary-server
NOTARY_DIRECT=https://127.0.0.1:4444             # notary-server itself

# Isolated client state (instead of ~/.docker and ~/.notary)
export DOCKER_CONFIG=$BASE/docker-config   # docker trust data -> $DOCKER_CONFIG/trust
NOTARY_DIR=$BASE/notary-client              # notary CLI trust dir (-d)

# Passphrases (docker CLI env vars)
export DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=rootpass123
export DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=repopass123
# Passphrases (notary CLI env vars)
export NOTARY_ROOT_PASSPHRASE=rootpass123
export NOTARY_TARGETS_PASSPHRASE=repopass123
export NOTARY_SNAPSHOT_PASSPHRASE=repopass123
export NOTARY_DELEGATION_PASSPHRASE=delegpass123

log() { printf '\n\033[1;34m### %s\033[0m\n' "$*"; }
run() { printf '\033[0;32m$ %s\033[0m\n' "$*" >&2; "$@"; }
# run a command that is EXPECTED to fail
runfail() { printf '\033[0;33m$ (expect failure) %s\033[0m\n' "$*"; if "$@"; then echo "UNEXPECTED SUCCESS"; return 1; else echo "(failed as expected, rc=$?)"; fi; }

# run a command (its exit status is ignored) and require that its output contains a string
expect_in() {
  local want=$1 outp; shift
  printf '\033[0;32m$ %s  (expect output: %s)\033[0m\n' "$*" "$want"
  outp=$("$@" 2>&1) || true
  if grep -qF -- "$want" <<<"$outp"; then echo "found: $want"; else echo "MISSING: $want"; echo "$outp" | tail -5; return 1; fi
}

wait_port() { # host port [tries]
  local i
  for i in $(seq 1 "${3:-50}"); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "port $1:$2 did not open" >&2; return 1
}

start_bg() { # name cmd...   (records pid in $PIDS/name.pid, logs in $LOGS/name.log)
  local name=$1; shift
  mkdir -p "$PIDS" "$LOGS"
  "$@" >"$LOGS/$name.log" 2>&1 &
  echo $! >"$PIDS/$name.pid"
  echo "started $name pid $!"
}

# Self-contained: the two tiny node helpers are embedded here and written to $BASE/bin.
write_helpers() {
  mkdir -p "$BASE/bin"
  cat >"$BASE/bin/logproxy.js" <<'NODE_EOF'
#!/usr/bin/env node
// Tiny TLS-terminating logging reverse proxy (no dependencies).
// Usage: node logproxy.js <listenHost:port> <upstreamURL> <certFile> <keyFile> <caFile> <logDir>
// Every request/response pair is appended to <logDir>/traffic.jsonl; bodies are
// written to <logDir>/bodies/<seq>-req.bin / <seq>-resp.bin so that the TUF
// metadata exchanged can be inspected afterwards.
'use strict';
const https = require('https');
const fs = require('fs');
const path = require('path');

const [listen, upstream, certFile, keyFile, caFile, logDir] = process.argv.slice(2);
if (!logDir) {
  console.error('usage: logproxy.js host:port upstreamURL cert key ca logDir');
  process.exit(2);
}
const [lhost, lport] = listen.split(':');
const up = new URL(upstream);
const ca = fs.readFileSync(caFile);
fs.mkdirSync(path.join(logDir, 'bodies'), { recursive: true });
const logFile = path.join(logDir, 'traffic.jsonl');
let seq = 0;

const pick = (h, names) => {
  const o = {};
  for (const n of names) if (h[n] !== undefined) o[n] = h[n];
  return o;
};
const REQ_H = ['content-type', 'content-length', 'user-agent', 'accept', 'authorization', 'transfer-encoding', 'accept-encoding'];
const RES_H = ['content-type', 'content-length', 'cache-control', 'last-modified', 'etag', 'www-authenticate', 'docker-distribution-api-version', 'location'];

const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, (req, res) => {
  const id = String(++seq).padStart(4, '0');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const reqBody = Buffer.concat(chunks);
    const headers = { ...req.headers, host: up.host };
    const preq = https.request({
      host: up.hostname, port: up.port, method: req.method, path: req.url, headers, ca,
    }, (pres) => {
      const rchunks = [];
      pres.on('data', (c) => rchunks.push(c));
      pres.on('end', () => {
        const resBody = Buffer.concat(rchunks);
        res.writeHead(pres.statusCode, pres.headers);
        res.end(resBody);
        if (reqBody.length) fs.writeFileSync(path.join(logDir, 'bodies', `${id}-req.bin`), reqBody);
        if (resBody.length) fs.writeFileSync(path.join(logDir, 'bodies', `${id}-resp.bin`), resBody);
        const reqHdr = pick(req.headers, REQ_H);
        if (reqHdr.authorization) reqHdr.authorization = reqHdr.authorization.replace(/^(\w+) (.{12}).*$/, '$1 $2...');
        const entry = {
          seq: Number(id), time: new Date().toISOString(), method: req.method, url: req.url,
          reqHeaders: reqHdr, reqBytes: reqBody.length,
          status: pres.statusCode, resHeaders: pick(pres.headers, RES_H), resBytes: resBody.length,
          resSnippet: resBody.length && /json|text/.test(pres.headers['content-type'] || '') ? resBody.toString('utf8').slice(0, 300) : undefined,
        };
        fs.appendFileSync(logFile, JSON.stringify(entry) + '\n');
      });
    });
    preq.on('error', (e) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('proxy error: ' + e.message);
      fs.appendFileSync(logFile, JSON.stringify({ seq: Number(id), method: req.method, url: req.url, proxyError: e.message }) + '\n');
    });
    preq.end(reqBody);
  });
});
server.listen(Number(lport), lhost, () => console.log(`logproxy ${listen} -> ${upstream}, log ${logFile}`));
NODE_EOF
  cat >"$BASE/bin/tokenserver.js" <<'NODE_EOF'
#!/usr/bin/env node
// Minimal docker/distribution-style token server (JWT, ES256, x5c header) for
// testing notary-server's "auth": {"type": "token"} mode. No dependencies.
// Usage: node tokenserver.js <host:port> <signingKey.pem> <signingCert.pem> <issuer> <logFile>
// Any Basic-auth user is accepted; user "reader" only ever gets "pull".
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const [listen, keyFile, certFile, issuer, logFile] = process.argv.slice(2);
const [host, port] = listen.split(':');
const key = crypto.createPrivateKey(fs.readFileSync(keyFile));
const certDerB64 = fs.readFileSync(certFile, 'utf8').replace(/-----[^-]+-----|\s/g, '');
const b64u = (b) => Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

function parseScope(s) { // repository:<name>:<actions>  (name may contain ':' e.g. host:port)
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last === first) return null;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) };
}

http.createServer((req, res) => {
  const u = new URL(req.url, `http://${req.headers.host}`);
  let user = '';
  const authz = req.headers.authorization || '';
  if (authz.startsWith('Basic ')) user = Buffer.from(authz.slice(6), 'base64').toString().split(':')[0];
  const scopes = u.searchParams.getAll('scope').flatMap((s) => s.split(' ')).map(parseScope).filter(Boolean);
  const access = scopes.map((s) => ({ ...s, actions: user === 'reader' ? s.actions.filter((a) => a === 'pull') : s.actions }));
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [certDerB64] };
  const claims = {
    iss: issuer, sub: user || 'anonymous', aud: u.searchParams.get('service') || '',
    exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomBytes(8).toString('hex'), access,
  };
  const signingInput = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(claims));
  const sig = crypto.sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  const token = signingInput + '.' + b64u(sig);
  fs.appendFileSync(logFile, JSON.stringify({
    time: new Date().toISOString(), method: req.method, url: req.url, basicUser: user || null,
    authScheme: authz.split(' ')[0] || null, userAgent: req.headers['user-agent'], grantedAccess: access,
  }) + '\n');
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
}).listen(Number(port), host, () => console.log(`token server on ${listen}`));
NODE_EOF
}

do_certs() {
  log "Generating self-signed CA and TLS certs in $CERTS"
  mkdir -p "$CERTS"; cd "$CERTS"
  # Root CA (EC P-256)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout root-ca.key -out root-ca.crt -days 3650 -subj "/CN=Trust Test Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  local name
  for name in notary-server notary-signer; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout $name.key -out $name.csr -subj "/CN=$name" 2>/dev/null
    cat >$name.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:$name
EOF
    openssl x509 -req -in $name.csr -CA root-ca.crt -CAkey root-ca.key -CAcreateserial \
      -days 825 -sha256 -extfile $name.ext -out $name.crt 2>/dev/null
  done
  # Token-auth signing cert for the (optional) auth experiment: self-signed EC cert.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout token.key -out token.crt -days 3650 -subj "/CN=trust-token-issuer" 2>/dev/null
  chmod 644 ./*.key
  openssl x509 -in notary-server.crt -noout -subject -ext subjectAltName
}

do_config() {
  log "Writing configs into $CONF"
  mkdir -p "$CONF" "$BASE/registry-data"
  cat >"$CONF/signer.json" <<EOF
{
  "server": {
    "grpc_addr": "127.0.0.1:4441",
    "tls_cert_file": "$CERTS/notary-signer.crt",
    "tls_key_file": "$CERTS/notary-signer.key",
    "client_ca_file": "$CERTS/root-ca.crt"
  },
  "logging": { "level": "debug" },
  "storage": { "backend": "memory" }
}
EOF
  cat >"$CONF/server.json" <<EOF
{
  "server": {
    "http_addr": "127.0.0.1:4444",
    "tls_key_file": "$CERTS/notary-server.key",
    "tls_cert_file": "$CERTS/notary-server.crt"
  },
  "trust_service": {
    "type": "remote",
    "hostname": "127.0.0.1",
    "port": "4441",
    "tls_ca_file": "$CERTS/root-ca.crt",
    "key_algorithm": "ecdsa",
    "tls_client_cert": "$CERTS/notary-server.crt",
    "tls_client_key": "$CERTS/notary-server.key"
  },
  "logging": { "level": "debug" },
  "storage": { "backend": "memory" }
}
EOF
  # Same server, but with the registry-style JWT token auth turned on.
  cat >"$CONF/server-auth.json" <<EOF
{
  "server": {
    "http_addr": "127.0.0.1:4445",
    "tls_key_file": "$CERTS/notary-server.key",
    "tls_cert_file": "$CERTS/notary-server.crt"
  },
  "trust_service": { "type": "local" },
  "logging": { "level": "debug" },
  "storage": { "backend": "memory" },
  "auth": {
    "type": "token",
    "options": {
      "realm": "http://127.0.0.1:5011/token",
      "service": "notary-server",
      "issuer": "trust-token-issuer",
      "rootcertbundle": "$CERTS/token.crt"
    }
  }
}
EOF
  cat >"$CONF/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $BASE/registry-data
  delete:
    enabled: true
http:
  addr: $REG
EOF
  # docker CLI: CA for the trust server goes to $DOCKER_CONFIG/tls/<host:port>/ca.crt
  # (cli/trust/trust.go certificateDirectory(); *.crt = CA, *.cert+*.key = client cert).
  # NOTE: for registries on loopback (127.0.0.0/8, ::1, localhost) docker sets
  # InsecureSkipVerify=true for the trust server anyway (Index.Secure == false).
  local hp
  for hp in 127.0.0.1:4443 127.0.0.1:4444 127.0.0.1:4446 "${TRUST_URL#https://}"; do
    mkdir -p "$DOCKER_CONFIG/tls/$hp"; cp "$CERTS/root-ca.crt" "$DOCKER_CONFIG/tls/$hp/ca.crt"
  done
  [ -f "$DOCKER_CONFIG/config.json" ] || echo '{}' >"$DOCKER_CONFIG/config.json"
  # notary CLI config: ~/.notary/config.json equivalent
  mkdir -p "$NOTARY_DIR"
  cat >"$NOTARY_DIR/config.json" <<EOF
{
  "trust_dir": "$NOTARY_DIR",
  "remote_server": {
    "url": "$TRUST_URL",
    "root_ca": "$CERTS/root-ca.crt"
  }
}
EOF
}

do_start() {
  log "Starting notary-signer, notary-server, logging proxy, docker-registry"
  write_helpers
  mkdir -p "$LOGS/proxy"
  start_bg notary-signer notary-signer -config "$CONF/signer.json" -logf logfmt
  wait_port 127.0.0.1 4441
  start_bg notary-server notary-server -config "$CONF/server.json" -logf logfmt
  wait_port 127.0.0.1 4444
  start_bg logproxy node "$BASE/bin/logproxy.js" 127.0.0.1:4443 "$NOTARY_DIRECT" \
    "$CERTS/notary-server.crt" "$CERTS/notary-server.key" "$CERTS/root-ca.crt" "$LOGS/proxy"
  wait_port 127.0.0.1 4443
  start_bg registry docker-registry serve "$CONF/registry.yml"
  wait_port 127.0.0.1 5010
  run curl -sS --cacert "$CERTS/root-ca.crt" "$TRUST_URL/_notary_server/health"; echo
  run curl -sS -i --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/"; echo
}

do_stop() {
  log "Stopping processes started by this script (by recorded PID)"
  local f pid
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" && echo "killed $(basename "$f" .pid) ($pid)"; fi
    rm -f "$f"
  done
}

do_status() {
  local f
  for f in "$PIDS"/*.pid; do [ -e "$f" ] && { pid=$(cat "$f"); printf '%-16s %s %s\n' "$(basename "$f" .pid)" "$pid" "$(kill -0 "$pid" 2>/dev/null && echo up || echo down)"; }; done
}

# Mark the proxy log so each client step's traffic can be found later.
mark() { local d=${MARK_DIR:-$LOGS/proxy}; mkdir -p "$d"; echo "{\"mark\":\"$*\",\"time\":\"$(date -u +%FT%T.%3NZ)\"}" >>"$d/traffic.jsonl"; }

do_docker() {
  local D=$DOCKER out=$BASE/out
  mkdir -p "$out" "$BASE/keys"
  export DOCKER_CONTENT_TRUST_SERVER=$TRUST_URL
  log "docker: tag source image"
  run $D tag "$SRC_IMAGE" "$REPO:signed"
  run $D tag "$SRC_IMAGE" "$REPO:signed2"
  run $D tag "$SRC_IMAGE" "$REPO:unsigned"

  log "docker: push an UNSIGNED tag (content trust off)"
  mark "docker push unsigned (DCT off)"
  DOCKER_CONTENT_TRUST=0 run $D push "$REPO:unsigned"

  log "docker: trusted push (initialises the trust repo: root+targets keys local, snapshot+timestamp on server)"
  mark "DOCKER_CONTENT_TRUST=1 docker push $REPO:signed"
  DOCKER_CONTENT_TRUST=1 run $D push "$REPO:signed"

  log "docker trust inspect"
  mark "docker trust inspect --pretty"
  run $D trust inspect --pretty "$REPO:signed" | tee "$out/inspect-pretty-1.txt"
  mark "docker trust inspect (json)"
  run $D trust inspect "$REPO" | tee "$out/inspect-1.json"

  log "docker trust key generate / key load"
  mark "docker trust key generate alice"
  (cd "$BASE/keys" && run $D trust key generate alice)
  # 'key load' of an externally generated EC P-256 private key (PEM, PKCS#8 or SEC1)
  openssl ecparam -name prime256v1 -genkey -noout -out "$BASE/keys/bob.key" 2>/dev/null
  mark "docker trust key load bob"
  run $D trust key load "$BASE/keys/bob.key" --name bob
  openssl ec -in "$BASE/keys/bob.key" -pubout -out "$BASE/keys/bob-ec.pub" 2>/dev/null
  ls -l "$BASE/keys"

  log "docker trust signer add (creates targets/releases + targets/alice delegations)"
  mark "docker trust signer add alice"
  run $D trust signer add --key "$BASE/keys/alice.pub" alice "$REPO"
  mark "docker trust signer add bob"
  run $D trust signer add --key "$BASE/keys/bob-ec.pub" bob "$REPO" || echo "(signer add with a bare PEM public key failed - see SPEC)"

  log "docker trust sign (signs with alice's delegation key into targets/releases + targets/alice)"
  mark "docker trust sign $REPO:signed2"
  run $D trust sign "$REPO:signed2"
  mark "docker trust sign $REPO:signed (re-sign existing tag as delegate)"
  run $D trust sign "$REPO:signed"
  mark "docker trust inspect --pretty (after signers)"
  run $D trust inspect --pretty "$REPO" | tee "$out/inspect-pretty-2.txt"
  run $D trust inspect "$REPO" >"$out/inspect-2.json"

  log "docker: trusted pull (tag -> digest via notary, then pull by digest)"
  $D rmi "$REPO:signed" "$REPO:signed2" >/dev/null 2>&1 || true
  mark "DOCKER_CONTENT_TRUST=1 docker pull $REPO:signed"
  DOCKER_CONTENT_TRUST=1 run $D pull "$REPO:signed"
  mark "DOCKER_CONTENT_TRUST=1 docker pull $REPO:signed2"
  DOCKER_CONTENT_TRUST=1 run $D pull "$REPO:signed2"

  log "docker: trusted pull of an unsigned tag MUST fail"
  mark "DOCKER_CONTENT_TRUST=1 docker pull $REPO:unsigned (expect fail)"
  DOCKER_CONTENT_TRUST=1 runfail $D pull "$REPO:unsigned"

  log "docker trust revoke"
  mark "docker trust revoke $REPO:signed2"
  run $D trust revoke --yes "$REPO:signed2"
  mark "DOCKER_CONTENT_TRUST=1 docker pull $REPO:signed2 (revoked, expect fail)"
  DOCKER_CONTENT_TRUST=1 runfail $D pull "$REPO:signed2"
  mark "docker trust signer remove bob"
  run $D trust signer remove --force bob "$REPO" || true
  mark "docker trust inspect --pretty (final)"
  run $D trust inspect --pretty "$REPO" | tee "$out/inspect-pretty-3.txt"

  log "docker: trust-server TLS verification (only for NON-loopback registry names)"
  # Registry on 127.0.0.0/8|::1|localhost => Index.Secure=false => InsecureSkipVerify for the trust
  # server. For any other registry name the CA must be in $DOCKER_CONFIG/tls/<trust host:port>/ca.crt.
  local NC=$BASE/docker-config-noca
  mkdir -p "$NC"; echo '{}' >"$NC/config.json"
  mark "TLS: loopback registry, no CA configured (verification skipped => works)"
  DOCKER_CONFIG=$NC run $D trust inspect "$REPO:signed" >/dev/null && echo "OK without CA"
  mark "TLS: non-loopback registry name, no CA => x509 error"
  expect_in "x509: certificate signed by unknown authority" env DOCKER_CONFIG="$NC" $D -D trust inspect registry.example.test:5010/$NS/busybox
  mkdir -p "$NC/tls/${TRUST_URL#https://}"; cp "$CERTS/root-ca.crt" "$NC/tls/${TRUST_URL#https://}/ca.crt"
  mark "TLS: non-loopback registry name, CA in tls/127.0.0.1:4443/ca.crt => reaches server (404 root)"
  expect_in "received HTTP status 404 when requesting root" env DOCKER_CONFIG="$NC" $D -D trust inspect registry.example.test:5010/$NS/busybox
  echo "docker flow OK"
}

do_notary() {
  local out=$BASE/out GUN2=$REG/$NS/notarycli f=$BASE/out/payload.txt
  mkdir -p "$out" "$BASE/keys"
  # All flags spelled out (the config file at $NOTARY_DIR/config.json would also do).
  N=(notary -s "$TRUST_URL" -d "$NOTARY_DIR" --tlscacert "$CERTS/root-ca.crt")
  log "notary list on the docker-created repo from a FRESH trust dir (TOFU: root.json first)"
  mark "notary list $REPO (fresh dir)"
  run "${N[@]}" list "$REPO"
  log "notary list using docker's trust dir (\$DOCKER_CONFIG/trust is a notary trust dir)"
  mark "notary -d \$DOCKER_CONFIG/trust list $REPO"
  run notary -s "$TRUST_URL" -d "$DOCKER_CONFIG/trust" --tlscacert "$CERTS/root-ca.crt" list "$REPO"
  run notary -d "$DOCKER_CONFIG/trust" key list

  log "notary init + publish a new collection $GUN2 (snapshot key LOCAL by default)"
  echo "hello trust" >"$f"
  mark "notary init $GUN2"
  run "${N[@]}" init "$GUN2"
  mark "notary publish $GUN2 (first)"
  run "${N[@]}" publish "$GUN2"
  mark "notary add + publish"
  run "${N[@]}" add "$GUN2" v1 "$f"
  run "${N[@]}" status "$GUN2"
  run "${N[@]}" publish "$GUN2"
  mark "notary list $GUN2"
  run "${N[@]}" list "$GUN2"
  mark "notary lookup $GUN2 v1"
  run "${N[@]}" lookup "$GUN2" v1
  mark "notary verify"
  run "${N[@]}" verify "$GUN2" v1 <"$f" >/dev/null && echo "verify OK"

  log "notary key rotate: snapshot -> server-managed, timestamp (server), targets (local), root"
  mark "notary key rotate snapshot -r"
  run "${N[@]}" key rotate "$GUN2" snapshot -r
  mark "notary key rotate timestamp -r"
  run "${N[@]}" key rotate "$GUN2" timestamp -r
  mark "notary key rotate targets"
  run "${N[@]}" key rotate "$GUN2" targets
  mark "notary key rotate root"
  echo yes | run "${N[@]}" key rotate "$GUN2" root   # asks for confirmation on stdin
  mark "notary list after rotations (fresh dir, must walk root chain)"
  run notary -s "$TRUST_URL" -d "$BASE/notary-fresh" --tlscacert "$CERTS/root-ca.crt" list "$GUN2"

  log "notary delegations with ecdsa (x509 cert), ed25519 and rsa keys"
  # ecdsa delegation: self-signed x509 cert made with openssl
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$BASE/keys/deleg-ec.key" \
    -out "$BASE/keys/deleg-ec.crt" -days 365 -subj "/CN=releases" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$BASE/keys/deleg-rsa.key" \
    -out "$BASE/keys/deleg-rsa.crt" -days 365 -subj "/CN=rsa" 2>/dev/null
  mark "notary delegation add targets/releases (ecdsa x509)"
  run "${N[@]}" delegation add -p "$GUN2" targets/releases "$BASE/keys/deleg-ec.crt" --all-paths
  run "${N[@]}" key import "$BASE/keys/deleg-ec.key" --role targets/releases
  mark "notary add --roles targets/releases + publish"
  run "${N[@]}" add -p "$GUN2" v2 "$f" --roles targets/releases
  mark "notary delegation add targets/rsa (rsa x509) paths=rsa/"
  run "${N[@]}" delegation add -p "$GUN2" targets/rsa "$BASE/keys/deleg-rsa.crt" --paths rsa/
  run "${N[@]}" key import "$BASE/keys/deleg-rsa.key" --role targets/rsa || echo "(rsa import failed)"
  mark "notary add rsa/v3 --roles targets/rsa + publish"
  run "${N[@]}" add -p "$GUN2" rsa/v3 "$f" --roles targets/rsa || echo "(rsa signing failed)"
  mark "notary add outside delegation paths (expect client-side failure)"
  runfail "${N[@]}" add -p "$GUN2" notrsa/v4 "$f" --roles targets/rsa || true
  run "${N[@]}" reset "$GUN2" --all || true
  # NOTE: 'notary key generate' (0.7.0) only allows ECDSA; ed25519 shows up as the
  # server-side timestamp/snapshot key type when notary-server uses trust_service.type=local
  # (exercised by the 'auth' step). RSA only appears as rsa-x509 delegation certs.
  run "${N[@]}" delegation list "$GUN2"
  mark "notary list (all roles)"
  run "${N[@]}" list "$GUN2"
  run "${N[@]}" key list

  log "notary remove + publish, witness"
  mark "notary remove v1"
  run "${N[@]}" remove -p "$GUN2" v1
  mark "notary witness targets/releases"
  run "${N[@]}" witness -p "$GUN2" targets/releases

  log "changefeed (not used by the clients; raw HTTP)"
  mark "changefeed"
  run curl -sS --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/_trust/changefeed?change_id=0&records=5" | tee "$out/changefeed-all.json"; echo
  run curl -sS --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/$GUN2/_trust/changefeed?change_id=-1&records=2" | tee "$out/changefeed-gun.json"; echo
  run curl -sS --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/$GUN2/_trust/changefeed?records=x"; echo
  mark "raw GETs: by version, by checksum, 404s"
  run curl -sS -o /dev/null -w '%{http_code} %{content_type}\n' --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/$GUN2/_trust/tuf/1.root.json"
  run curl -sS -o /dev/null -w '%{http_code} %{content_type}\n' --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/$GUN2/_trust/tuf/2.root.json"
  run curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/$GUN2/_trust/tuf/targets/releases.json"
  run curl -sS -w '\n%{http_code}\n' --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/$GUN2/_trust/tuf/nosuchrole.json"
  run curl -sS -w '\n%{http_code}\n' --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/$GUN2/_trust/tuf/root.0000000000000000000000000000000000000000000000000000000000000000.json"
  run curl -sS -w '\n%{http_code}\n' --cacert "$CERTS/root-ca.crt" -X POST -H 'Content-Type: text/plain' --data 'x' "$TRUST_URL/v2/$GUN2/_trust/tuf/"
  run curl -sS -w '\n%{http_code}\n' --cacert "$CERTS/root-ca.crt" -F 'files=@/dev/null;filename=bogus' "$TRUST_URL/v2/$GUN2/_trust/tuf/"
  run curl -sS -w '\n%{http_code}\n' --cacert "$CERTS/root-ca.crt" -F "files=@$f;filename=targets" "$TRUST_URL/v2/$GUN2/_trust/tuf/"
  # replaying the current targets.json (same version) must be rejected
  curl -sS --cacert "$CERTS/root-ca.crt" "$TRUST_URL/v2/$GUN2/_trust/tuf/targets.json" -o "$out/cur-targets.json"
  run curl -sS -w '\n%{http_code}\n' --cacert "$CERTS/root-ca.crt" -F "files=@$out/cur-targets.json;filename=targets" "$TRUST_URL/v2/$GUN2/_trust/tuf/"
  run curl -sS -w '\n%{http_code}\n' --cacert "$CERTS/root-ca.crt" -F "files=@$out/cur-targets.json;filename=targets" "$TRUST_URL/v2/$REG/$NS/never-initialised/_trust/tuf/"

  log "notary delete --remote (DELETE /v2/<gun>/_trust/tuf/)"
  mark "notary delete --remote $GUN2"
  run "${N[@]}" delete "$GUN2" --remote
  mark "notary list after delete (expect fail)"
  runfail notary -s "$TRUST_URL" -d "$BASE/notary-fresh2" --tlscacert "$CERTS/root-ca.crt" list "$GUN2"
  echo "notary flow OK"
}

do_auth() {
  local AUTH_URL=https://127.0.0.1:4446 AREPO=$REG/$NS/authbusybox out=$BASE/out
  local MARK_DIR=$LOGS/proxy-auth
  write_helpers
  log "auth variant: notary-server (local ed25519 trust service) with JWT token auth + node token server"
  mkdir -p "$LOGS/proxy-auth" "$out"
  start_bg notary-server-auth notary-server -config "$CONF/server-auth.json"
  wait_port 127.0.0.1 4445
  start_bg logproxy-auth node "$BASE/bin/logproxy.js" 127.0.0.1:4446 https://127.0.0.1:4445 \
    "$CERTS/notary-server.crt" "$CERTS/notary-server.key" "$CERTS/root-ca.crt" "$LOGS/proxy-auth"
  wait_port 127.0.0.1 4446
  start_bg tokenserver node "$BASE/bin/tokenserver.js" 127.0.0.1:5011 "$CERTS/token.key" "$CERTS/token.crt" \
    trust-token-issuer "$LOGS/token.jsonl"
  wait_port 127.0.0.1 5011
  run curl -sS -i --cacert "$CERTS/root-ca.crt" "$AUTH_URL/v2/"; echo
  run curl -sS -i --cacert "$CERTS/root-ca.crt" "$AUTH_URL/v2/$AREPO/_trust/tuf/root.json"; echo
  # docker CLI sends the *registry's* credentials (from config.json "auths" for the registry
  # host, i.e. what `docker login 127.0.0.1:5010` would store) to the notary token realm.
  local DC2=$BASE/docker-config-auth
  mkdir -p "$DC2/tls/127.0.0.1:4446"; cp "$CERTS/root-ca.crt" "$DC2/tls/127.0.0.1:4446/ca.crt"
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf 'alice:secret' | base64)" >"$DC2/config.json"
  $DOCKER tag "$SRC_IMAGE" "$AREPO:signed"
  mark "auth: DCT push"
  DOCKER_CONFIG=$DC2 DOCKER_CONTENT_TRUST=1 DOCKER_CONTENT_TRUST_SERVER=$AUTH_URL run $DOCKER push "$AREPO:signed"
  mark "auth: docker trust inspect"
  DOCKER_CONFIG=$DC2 DOCKER_CONTENT_TRUST_SERVER=$AUTH_URL run $DOCKER trust inspect --pretty "$AREPO"
  $DOCKER rmi "$AREPO:signed" >/dev/null
  mark "auth: DCT pull"
  DOCKER_CONFIG=$DC2 DOCKER_CONTENT_TRUST=1 DOCKER_CONTENT_TRUST_SERVER=$AUTH_URL run $DOCKER pull "$AREPO:signed"
  mark "auth: notary list with NOTARY_AUTH"
  NOTARY_AUTH=$(printf 'bob:pw' | base64) run notary -s "$AUTH_URL" -d "$BASE/notary-auth" --tlscacert "$CERTS/root-ca.crt" list "$AREPO"
  mark "auth: notary add+publish from a dir without the targets key (fails client-side before POST)"
  NOTARY_AUTH=$(printf 'reader:pw' | base64) runfail notary -s "$AUTH_URL" -d "$BASE/notary-auth" --tlscacert "$CERTS/root-ca.crt" add -p "$AREPO" x "$out/payload.txt"
  run curl -sS --cacert "$CERTS/root-ca.crt" "$AUTH_URL/v2/$AREPO/_trust/tuf/timestamp.key" -o "$out/auth-timestamp.key" -w '%{http_code}\n'
  # a pull-only token must not be able to publish: 401 + error="insufficient_scope"
  local TOK
  TOK=$(curl -sS -u reader:pw "http://127.0.0.1:5011/token?service=notary-server&scope=repository:$AREPO:push,pull" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
  mark "auth: POST with pull-only token (expect 401 insufficient_scope)"
  run curl -sS -i --cacert "$CERTS/root-ca.crt" -H "Authorization: Bearer $TOK" -F "files=@$out/payload.txt;filename=targets" "$AUTH_URL/v2/$AREPO/_trust/tuf/" | grep -i -E '^HTTP|www-authenticate|errors'
  mark "auth: GET with pull-only token"
  run curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$CERTS/root-ca.crt" -H "Authorization: Bearer $TOK" "$AUTH_URL/v2/$AREPO/_trust/tuf/timestamp.json"
  echo "auth flow OK"
}

do_rootwalk() {
  log "root rotation x2 with notary on docker's trust dir; then a docker client with a STALE cached root"
  rm -rf "$BASE/docker-config-stale"; cp -a "$DOCKER_CONFIG" "$BASE/docker-config-stale"
  local i
  for i in 1 2; do
    mark "notary key rotate root ($i) on $REPO"
    echo yes | run notary -s "$TRUST_URL" -d "$DOCKER_CONFIG/trust" --tlscacert "$CERTS/root-ca.crt" key rotate "$REPO" root
  done
  mark "docker trust inspect with stale cached root (walks <N>.root.json)"
  DOCKER_CONFIG=$BASE/docker-config-stale DOCKER_CONTENT_TRUST_SERVER=$TRUST_URL run $DOCKER trust inspect --pretty "$REPO"
  $DOCKER rmi "$REPO:signed" >/dev/null 2>&1 || true
  mark "DCT pull after root rotation"
  DOCKER_CONFIG=$BASE/docker-config-stale DOCKER_CONTENT_TRUST=1 DOCKER_CONTENT_TRUST_SERVER=$TRUST_URL run $DOCKER pull "$REPO:signed"
  echo "rootwalk OK"
}

do_report() {
  local out=$BASE/out
  mkdir -p "$out"
  node -e '
const fs=require("fs");
for (const [src,dst] of [[process.argv[1],process.argv[2]],[process.argv[3],process.argv[4]]]) {
  if (!fs.existsSync(src)) continue;
  const lines=[];
  for (const l of fs.readFileSync(src,"utf8").split("\n").filter(Boolean)) {
    const e=JSON.parse(l);
    if (e.mark) { lines.push("", "## "+e.mark); continue; }
    if (e.proxyError) { lines.push("  PROXY ERROR "+e.proxyError); continue; }
    const url=e.url.replace(/\/v2\/127\.0\.0\.1:5010\/test\/([^/]+)\/_trust/,"/v2/<$1>/_trust").replace(/\.([0-9a-f]{12})[0-9a-f]{52}\.json/,".$1....json");
    const ct=(e.reqHeaders["content-type"]||"").startsWith("multipart")?"multipart/form-data":(e.reqHeaders["content-type"]||"");
    let extra=e.reqHeaders.authorization?" [Authorization: "+e.reqHeaders.authorization.split(" ")[0]+"]":"";
    if (e.resHeaders["www-authenticate"]) extra+=" WWW-Authenticate: "+e.resHeaders["www-authenticate"];
    if (e.status>=400 && e.resSnippet) extra+=" body="+e.resSnippet.trim().slice(0,170);
    lines.push(`  ${e.method.padEnd(6)} ${url.padEnd(64)} ${e.status} ${(e.resHeaders["content-type"]||"-").padEnd(31)} ${e.reqBytes?("req "+ct+" "+e.reqBytes+"B"):""} resp ${e.resBytes}B${extra}`);
  }
  fs.writeFileSync(dst, lines.join("\n")+"\n");
  console.log("wrote "+dst);
}' "$LOGS/proxy/traffic.jsonl" "$out/traffic-table.txt" "$LOGS/proxy-auth/traffic.jsonl" "$out/traffic-auth-table.txt"
  [ -f "$LOGS/token.jsonl" ] && cp "$LOGS/token.jsonl" "$out/token-requests.jsonl"
  echo "servers left running (./reference.sh stop to stop them):"; do_status
}

main() {
  local cmd
  for cmd in "${@:-all}"; do
    case $cmd in
      certs) do_certs ;;
      config) do_config ;;
      start) do_start ;;
      stop) do_stop ;;
      status) do_status ;;
      docker) do_docker ;;
      notary) do_notary ;;
      auth) do_auth ;;
      rootwalk) do_rootwalk ;;
      report) do_report ;;
      clean) do_stop; rm -rf "$BASE" ;;
      all) do_stop; rm -rf "$BASE"; do_certs; do_config; do_start; do_docker; do_notary; do_rootwalk; do_auth; do_report ;;
      *) echo "unknown command $cmd"; exit 2 ;;
    esac
  done
}
main "$@"
