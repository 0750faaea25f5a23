#!/usr/bin/env bash
# Seeds each target's corpus from the shared vectors (manifests, requests, typed codes).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/evaluate corpus/manifest corpus/codes corpus/csv
python3 - <<'PY'
import json, glob, os, hashlib
for path in glob.glob('../tests/vectors/*.json'):
    v = json.load(open(path))
    name = os.path.basename(path)[:-5]
    open(f'corpus/manifest/{name}', 'w').write(json.dumps(v['manifest']))
    if 'input' in v:
        open(f'corpus/evaluate/{name}', 'w').write(json.dumps(v['input']))
        for code in v['input'].get('codes', []) if isinstance(v['input'], dict) else []:
            if isinstance(code, str):
                open(f'corpus/codes/{hashlib.sha1(code.encode()).hexdigest()[:12]}', 'w').write(code)
PY
# CSV uploads: a header, quotes with commas and line breaks, CRLF, blank lines, an open quote.
printf 'code\nSAVE-10\n"WITH,COMMA"\n' > corpus/csv/header
printf 'user_id,assigned_at\r\nu1,2026-01-15T10:00:00Z\r\n\r\n"u""2",\n' > corpus/csv/crlf-quotes
printf '"multi\nline",x\n"open' > corpus/csv/open-quote
