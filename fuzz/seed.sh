#!/usr/bin/env bash
# Seeds each target's corpus from the shared vectors (manifests, requests, typed codes).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/evaluate corpus/manifest corpus/codes
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
