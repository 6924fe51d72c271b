#!/usr/bin/env bash
# Probes of the output rules as a careless user would run them (issue "never lose or mix a user's data,
# round 3"): each line prints the probe, the exit code, whether the guarded files survived, and the first
# line snapmix printed. Run from a checkout: bash scripts/safety-probes.sh [checkout] (default: this one).
# Needs only the checkout's node_modules; makes its fixtures in a temporary directory.
set -u
ROOT=$(cd "${1:-$(dirname "$0")/..}" && pwd)
P=$(mktemp -d /tmp/safety-probes-XXXXXX) # pristine fixtures
T=$P/work                                # each probe: a fresh copy of them
S() { node --import tsx "$ROOT/src/cli/main.ts" "$@"; }
W=(--backend wasm --quiet)
sum() { (cd "$1" && find . -type f ! -name '.snapmix.lock' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12); }
probe() { # probe NAME GUARDED_PATH -- command...
  local name=$1 guard=$2; shift 3
  local before after out code
  rm -rf "$T"; mkdir -p "$T"; cp -a "$P/fx/." "$T/"
  before=$( [ -e "$guard" ] && { [ -d "$guard" ] && sum "$guard" || sha256sum "$guard" | cut -c1-12; } || echo none)
  out=$("$@" 2>&1); code=$?
  after=$( [ -e "$guard" ] && { [ -d "$guard" ] && sum "$guard" || sha256sum "$guard" | cut -c1-12; } || echo none)
  local kept=$([ "$before" = "$after" ] && echo kept || echo CHANGED)
  printf '| %s | exit %s | %s | %s |\n' "$name" "$code" "$kept" "$(echo "$out" | grep -v '^backend:' | grep -m1 . | sed "s#$T#T#g" | cut -c1-150)"
}

mkdir -p "$T"
S synth --out "$T/data" --classes 3 --per-class 6 --test-per-class 2 --size 32 --quiet >/dev/null
S train --data "$T/data" --out "$T/teacher" --epochs 1 --size 32 --width 8 --stages 2 "${W[@]}" >/dev/null
S cams --allow-weak-teacher --data "$T/data" --teacher "$T/teacher" --out "$T/cams" "${W[@]}" >/dev/null
S generate --allow-weak-teacher --data "$T/data" --cams "$T/cams" --out "$T/shards" --size 32 --rounds 1 --shard-size 10 --workers 1 "${W[@]}" >/dev/null
ST=(--val "$T/data" --epochs 2 --width 8 --stages 2 --batch-size 16 --train-workers 1 "${W[@]}")
# every fixture the probes use, made once
for i in 0 1; do S cams --allow-weak-teacher --data "$T/data" --teacher "$T/teacher" --out "$T/cpart$i" --num-shards 2 --shard-index $i "${W[@]}" >/dev/null; done
S train --data "$T/data" --out "$T/teacher2" --epochs 1 --size 32 --width 8 --stages 2 --seed 9 "${W[@]}" >/dev/null
S cams --allow-weak-teacher --data "$T/data" --teacher "$T/teacher2" --out "$T/cams2" "${W[@]}" >/dev/null
S export "$T/shards" --to parquet --out "$T/export" --quiet >/dev/null; echo mine > "$T/export/LICENSE"
mkdir -p "$T/one/train"; cp -r "$T/data/train/$(ls "$T/data/train" | head -1)" "$T/one/train/"
S generate --allow-weak-teacher --data "$T/one" --out "$T/one-out" --size 32 --method cutmix --rounds 1 --workers 1 "${W[@]}" >/dev/null
S train --shards "$T/shards" --out "$T/student" --val "$T/data" --epochs 1 --width 8 --stages 2 --batch-size 16 --train-workers 1 "${W[@]}" >/dev/null
cp -r "$T/teacher" "$T/nan"; node -e "const fs=require('fs'),p=require('path');const d='$T/nan';const m=JSON.parse(fs.readFileSync(p.join(d,'model.json')));const f=p.join(d,m.weightsManifest[0].paths[0]);const b=fs.readFileSync(f);new Float32Array(b.buffer,b.byteOffset,4).fill(NaN);fs.writeFileSync(f,b)"
mkdir -p "$T/onnx"; cp "$ROOT/test/fixtures/tiny-resnet.onnx" "$T/onnx/t.onnx"; echo '{"input_size":32,"layout":"nhwc"}' > "$T/onnx/t.json"
IMG=$(find "$T/data/train" -name '*.png' | sort | head -1)
for c in class_00 class_01 class_02; do mkdir -p "$T/u/train/$c"; cp "$IMG" "$T/u/train/$c/1.png"; cp "$IMG" "$T/u/train/$c/2.png"; done
echo x > "$T/u/train/class_00/1.png"; echo x > "$T/u/train/class_00/2.png"
cp -r "$T/data" "$T/bad"; B=$(find "$T/bad/train" -name '*.png' | sort | head -1); head -c 100 "$IMG" > "$B"
mv "$T" "$P/fx"; mkdir -p "$T"; cp -a "$P/fx/." "$T/"
echo "| probe | exit | guarded files | first line |"
echo "|---|---|---|---|"
probe "1 train --shards … --out TEACHER --resume" "$T/teacher" -- S train --shards "$T/shards" --out "$T/teacher" --resume "${ST[@]}"
probe "1 train --init X --out X" "$T/teacher" -- S train --data "$T/data" --init "$T/teacher" --out "$T/teacher" --epochs 1 "${W[@]}"
probe "2 eval --confusion TEACHER/model.json" "$T/teacher" -- S eval --model "$T/teacher" --data "$T/data" --confusion "$T/teacher/model.json" --backend wasm
probe "2 preview --out DATASET_IMAGE" "$T/data" -- S preview --shards "$T/shards" --n 2 --out "$IMG"
probe "2 preview --out SHARDS/manifest.json" "$T/shards" -- S preview --shards "$T/shards" --n 2 --out "$T/shards/manifest.json"
probe "3 merge CAM_PARTS --out OTHER_TEACHERS_CACHE" "$T/cams2" -- S merge "$T/cpart0" "$T/cpart1" --out "$T/cams2"
probe "4 export again, LICENSE added by the user" "$T/export/LICENSE" -- S export "$T/shards" --to parquet --out "$T/export" --quiet
probe "5 generate --overwrite --partner other-class (one class)" "$T/one-out" -- S generate --allow-weak-teacher --data "$T/one" --out "$T/one-out" --size 32 --method cutmix --rounds 1 --workers 1 --partner other-class --overwrite "${W[@]}"
probe "6 train --resume with another --lr" "$T/student" -- S train --shards "$T/shards" --out "$T/student" --resume --lr 0.2 "${ST[@]}"
probe "8 reproduce R --scratch R" "$T/shards" -- S reproduce "$T/shards" --data "$T/data" --cams "$T/cams" --scratch "$T/shards" "${W[@]}"
probe "9 cams with a NaN-weight teacher" "$T/data" -- S cams --allow-weak-teacher --data "$T/data" --teacher "$T/nan" --out "$T/cams-nan" "${W[@]}"
rm -rf "$T"; mkdir -p "$T"; cp -a "$P/fx/." "$T/"
for i in 1 2; do S generate --allow-weak-teacher --data "$T/bad" --teacher "$T/teacher" --out "$T/rej$i" --size 32 --rounds 1 --workers 1 "${W[@]}" >/dev/null 2>&1; done
printf '| 10 rejects.jsonl: two runs identical / machine path inside | %s | %s | %s |\n' "$(cmp -s "$T/rej1/rejects.jsonl" "$T/rej2/rejects.jsonl" && echo identical || echo DIFFER)" "$(grep -q "$T" "$T/rej1/rejects.jsonl" && echo 'PATH INSIDE' || echo 'no path')" "$(head -c 150 "$T/rej1/rejects.jsonl" | sed "s#$T#T#g")"
probe "11 train --shards … --init '' (an empty value)" "$T/data" -- S train --shards "$T/shards" --out "$T/student-e" --init '' "${ST[@]}"
probe "13 ONNX sidecar with the wrong layout" "$T/data" -- S cams --allow-weak-teacher --data "$T/data" --teacher "$T/onnx/t.onnx" --out "$T/cams-onnx" "${W[@]}"
probe "14 cams part 0 of 3 whose images are all unreadable" "$T/data" -- S cams --allow-weak-teacher --data "$T/u" --teacher "$T/teacher" --out "$T/u-part0" --num-shards 3 --shard-index 0 "${W[@]}"
rm -rf "$P"
